"""The IDX file format of MNIST-style datasets: read with validation, write (for tests).

An IDX file (usually gzip-compressed) is a 4-byte magic ``0x0000TTDD`` (TT: element type,
DD: number of dimensions), then DD big-endian int32 sizes, then the elements, big-endian,
row-major. Reading checks every one of those promises and names the file when one is broken.
"""

import gzip
import os
import struct
import zlib

from .. import backend

# element type code -> big-endian dtype
IDX_TYPES = {
    0x08: ">u1",
    0x09: ">i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}
_CODE_OF = {backend.dtype(name).newbyteorder("="): code for code, name in IDX_TYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


class IDXError(ValueError):
    """An IDX file that is corrupt, truncated or not IDX at all."""


def _read_bytes(path):
    """The decompressed bytes of ``path`` (gzip is recognised by its magic, not its name)."""
    with open(path, "rb") as f:
        raw = f.read()
    if not raw.startswith(_GZIP_MAGIC):
        if str(path).endswith(".gz"):
            raise IDXError(f"read_idx: {path} is named .gz but is not gzip data (first bytes {raw[:4]!r})")
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError as e:  # the stream ends before its end marker
        raise IDXError(f"read_idx: {path} is a truncated gzip file ({len(raw)} bytes; {e})") from e
    except (gzip.BadGzipFile, zlib.error) as e:  # bad header, bad deflate data, or CRC / length mismatch
        raise IDXError(f"read_idx: {path} is a corrupt gzip file ({e})") from e


def read_idx(path):
    """The array stored in an IDX file (``.gz`` or not), in native byte order."""
    data = _read_bytes(path)
    if len(data) < 4:
        raise IDXError(f"read_idx: {path} has {len(data)} bytes, too short for the 4-byte IDX magic")
    zero, type_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or type_code not in IDX_TYPES:
        raise IDXError(
            f"read_idx: {path} has magic 0x{data[:4].hex()}, expected 0x0000TTDD with TT one of "
            f"{', '.join(f'0x{c:02x}' for c in IDX_TYPES)}"
        )
    if ndim == 0:
        raise IDXError(f"read_idx: {path} declares 0 dimensions; expected at least 1")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IDXError(f"read_idx: {path} is truncated inside its header ({len(data)} bytes, header needs {header})")
    shape = struct.unpack(f">{ndim}i", data[4:header])
    if any(n < 0 for n in shape):
        raise IDXError(f"read_idx: {path} declares negative sizes {shape}")
    dtype = backend.dtype(IDX_TYPES[type_code])
    expected = header + dtype.itemsize * _prod(shape)
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "longer than its header says"
        raise IDXError(
            f"read_idx: {path} is {what}: shape {shape} of {dtype.name} needs {expected} bytes "
            f"(decompressed), found {len(data)}"
        )
    array = _numpy().frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))  # a writable copy in native byte order


def write_idx(path, array):
    """Write an array as an IDX file; gzip-compressed when ``path`` ends in ``.gz``."""
    array = _numpy().asarray(array)
    code = _CODE_OF.get(array.dtype.newbyteorder("="))
    if code is None:
        known = ", ".join(sorted(map(str, _CODE_OF)))
        raise IDXError(f"write_idx: dtype {array.dtype} has no IDX type code; expected one of {known}")
    if array.ndim == 0 or array.ndim > 255:
        raise IDXError(f"write_idx: expected 1 to 255 dimensions, got {array.ndim}")
    header = struct.pack(">HBB", 0, code, array.ndim) + struct.pack(f">{array.ndim}i", *array.shape)
    payload = header + array.astype(IDX_TYPES[code]).tobytes()
    if str(path).endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)  # mtime=0: the same array gives the same bytes
    with open(os.fspath(path), "wb") as f:
        f.write(payload)
    return path


def _prod(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def _numpy():
    # The data pipeline reads files on the host; NumPy comes through the backend seam.
    return backend.xp_for("cpu")
