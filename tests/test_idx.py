"""IDX files: round trips for every element type, and a clear error for each way a file can be broken."""

import gzip
import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygen.data import IDXError, read_idx, write_idx

DTYPES = ["uint8", "int8", "int16", "int32", "float32", "float64"]


@given(
    dtype=st.sampled_from(DTYPES),
    shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5),
    compressed=st.booleans(),
    data=st.data(),
)
def test_round_trip(tmp_path_factory, dtype, shape, compressed, data):
    array = data.draw(hnp.arrays(dtype, shape, elements=hnp.from_dtype(np.dtype(dtype), allow_nan=False)))
    path = tmp_path_factory.mktemp("idx") / ("a.idx.gz" if compressed else "a.idx")
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable


def test_layout_is_the_published_one(tmp_path):
    # 2 images of 2x3, as the MNIST README describes: magic 0x00000803, big-endian sizes, pixels.
    images = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    raw = gzip.decompress(write_idx(tmp_path / "x.gz", images).read_bytes())
    assert raw[:16] == struct.pack(">iiii", 0x803, 2, 2, 3)
    assert raw[16:] == bytes(range(12))
    labels = np.array([7, 1], dtype=np.uint8)
    assert (write_idx(tmp_path / "y", labels)).read_bytes() == struct.pack(">ii", 0x801, 2) + b"\x07\x01"


def test_big_endian_numbers(tmp_path):
    array = np.array([1, -2, 300], dtype=np.int32)
    raw = write_idx(tmp_path / "n", array).read_bytes()
    assert raw[8:] == struct.pack(">3i", 1, -2, 300)
    np.testing.assert_array_equal(read_idx(tmp_path / "n"), array)


def _raw_file(tmp_path, payload, gz=True):
    path = tmp_path / ("bad.gz" if gz else "bad")
    path.write_bytes(gzip.compress(payload) if gz else payload)
    return path


@pytest.mark.parametrize(
    "payload, message",
    [
        (b"\x00\x00", "too short for the 4-byte IDX magic"),
        (struct.pack(">ii", 0x1234, 1) + b"\x00", "magic 0x00001234"),
        (struct.pack(">ii", 0x0A01, 1) + b"\x00", "magic 0x00000a01"),  # 0x0A is not a type code
        (struct.pack(">i", 0x800), "0 dimensions"),
        (struct.pack(">ii", 0x803, 2), "truncated inside its header"),
        (struct.pack(">iii", 0x802, -1, 3), "negative sizes"),
        (struct.pack(">iii", 0x802, 2, 3) + b"\x00" * 5, "truncated: shape (2, 3) of uint8 needs 18 bytes"),
        (struct.pack(">iii", 0x802, 2, 3) + b"\x00" * 7, "longer than its header says"),
        (struct.pack(">ii", 0x0C01, 2) + b"\x00" * 4, "needs 16 bytes"),  # two int32 need 8 data bytes
    ],
)
def test_broken_contents_are_named(tmp_path, payload, message):
    path = _raw_file(tmp_path, payload)
    with pytest.raises(IDXError, match="read_idx") as info:
        read_idx(path)
    assert message in str(info.value) and str(path) in str(info.value)


def test_truncated_gzip(tmp_path):
    whole = gzip.compress(struct.pack(">ii", 0x801, 1000) + bytes(1000))
    path = tmp_path / "labels.gz"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(IDXError, match="truncated gzip") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_corrupt_gzip_is_caught_by_its_crc(tmp_path):
    data = bytearray(gzip.compress(struct.pack(">ii", 0x801, 64) + bytes(range(64))))
    data[-6] ^= 0xFF  # a byte of the stored CRC-32
    path = tmp_path / "labels.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(IDXError, match="corrupt gzip"):
        read_idx(path)


def test_gz_name_without_gzip_data(tmp_path):
    path = tmp_path / "plain.gz"
    path.write_bytes(struct.pack(">ii", 0x801, 1) + b"\x03")
    with pytest.raises(IDXError, match="not gzip data"):
        read_idx(path)


def test_uncompressed_files_are_read_too(tmp_path):
    path = _raw_file(tmp_path, struct.pack(">ii", 0x801, 3) + b"\x01\x02\x03", gz=False)
    np.testing.assert_array_equal(read_idx(path), [1, 2, 3])


def test_write_rejects_unknown_dtypes(tmp_path):
    with pytest.raises(IDXError, match="write_idx: dtype int64"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.int64))
    with pytest.raises(IDXError, match="1 to 255 dimensions"):
        write_idx(tmp_path / "x", np.zeros((), dtype=np.uint8))
