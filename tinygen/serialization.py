"""``tg.save`` / ``tg.load``: checkpoints as one ``.npz`` file, without pickle.

A checkpoint is a nested structure of dicts, lists and tuples whose leaves are Tensors,
arrays, ints, floats, bools, strings and None. ``save`` splits it in two:

* every Tensor or array goes into the ``.npz`` under a readable flattened key
  (``model.fc.weight``), so ``numpy.load`` can inspect the file too;
* a JSON document describes the structure and holds the plain values; it is stored in the
  same ``.npz`` as a uint8 array named ``__tinygen__``.

Pickle can run code while it loads, so a checkpoint from a stranger could; this format holds
only numbers and text, and ``load`` reads it with ``allow_pickle=False``. Each save writes its
own temporary file in the target's folder (a hidden name no other save or user file has),
flushes it to disk and renames it over ``path`` in one atomic step, so a crash, or two
processes saving to one path at once, leaves either the old checkpoint or one whole new one,
never half of one; a save that fails removes its temporary file and names ``path``.
"""

import json
import os
import secrets

from . import backend
from .tensor import Tensor

FORMAT = "tinygen.save"
VERSION = 1
DOC_KEY = "__tinygen__"
_host = backend.xp_for("cpu")  # numpy: checkpoints are written and read on the host


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupt, or not one that tg.save wrote."""


# ---------------------------------------------------------------- save
def save(obj, path):
    """Write a nested dict/list of Tensors, arrays and plain values to ``path`` (an .npz file)."""
    path = os.fspath(path)
    arrays = {}
    doc = {"format": FORMAT, "version": VERSION, "root": _encode(obj, "", arrays)}
    arrays[DOC_KEY] = _host.frombuffer(json.dumps(doc).encode("utf-8"), dtype=_host.uint8)
    tmp = None
    try:
        tmp, fd = _temporary_file(path)
        with os.fdopen(fd, "wb") as f:  # a file object: savez given a name would append ".npz"
            _host.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic: readers see the old file or the new one
        tmp = None
    except OSError as e:  # name the checkpoint, not the temporary file; the errno keeps the type
        message = f"save: cannot write the checkpoint {path!r}: {e.strerror or e}"
        raise (OSError(e.errno, message) if e.errno else OSError(message)) from e
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)


def _temporary_file(path):
    """A new file next to ``path`` for this save alone: (its name, an open descriptor).

    Hidden, with the process id and random bits in its name, created with O_EXCL so it can
    never be another save's file or a user's (``x.npz.tmp`` is left alone); same folder, so
    the rename over ``path`` stays atomic. Its permissions follow the umask, like open().
    """
    folder, name = os.path.split(path)
    while True:
        tmp = os.path.join(folder, f".{name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
        try:
            return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue


def _encode(obj, key, arrays):
    """The JSON node for ``obj``; its arrays go into ``arrays`` under keys built from ``key``."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, Tensor) or backend.is_array(obj):
        array = backend.to_host(obj.array if isinstance(obj, Tensor) else obj)
        if array.dtype.hasobject:
            raise TypeError(f"save: {key or 'the object'} is an array of Python objects, which needs pickle")
        name = _unique(key or "tensor", arrays)
        arrays[name] = array
        node = {"type": "tensor" if isinstance(obj, Tensor) else "array", "key": name}
        if isinstance(obj, Tensor):
            node["requires_grad"] = obj.requires_grad
        return node
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, _join(key, str(i)), arrays) for i, v in enumerate(obj)]
        return {"type": type(obj).__name__, "items": items}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise TypeError(f"save: dict keys must be str or int, got {k!r} at {key or 'the top level'}")
            items.append([k, _encode(v, _join(key, str(k)), arrays)])  # JSON keys are strings: keep ints as ints
        return {"type": "dict", "items": items}
    raise TypeError(
        f"save: cannot store {type(obj).__name__} at {key or 'the top level'}; expected Tensors, arrays, "
        "dicts, lists, tuples, int, float, bool, str or None"
    )


def _join(prefix, name):
    return f"{prefix}.{name}" if prefix else name


def _unique(name, taken):
    """``name``, or ``name#2``, ... if a different path flattened to the same key."""
    candidate, n = name, 1
    while candidate in taken or candidate == DOC_KEY:
        n += 1
        candidate = f"{name}#{n}"
    return candidate


# ---------------------------------------------------------------- load
def load(path, device=None, map_location=None, weights_only=None, mmap=None):
    """Read what ``save`` wrote. Tensors and arrays land on ``device`` (default: the default device).

    PyTorch's ``map_location`` is accepted as another name for ``device`` (a device or its
    name; a function such as ``lambda storage, loc: storage`` means the CPU). ``weights_only``
    and ``mmap`` are accepted and change nothing: a tinygen checkpoint never runs code (no
    pickle), so every load is already weights-only. Raises CheckpointError, naming the file,
    when it is missing, corrupt or truncated, or was not written by ``tg.save``.
    """
    path = os.fspath(path)
    if map_location is not None and device is None:
        if isinstance(map_location, dict):
            raise NotImplementedError("load: a dict map_location is not offered in tinygen; pass a device")
        device = "cpu" if callable(map_location) else map_location
    device = backend.check_device(device)
    if not os.path.isfile(path):
        raise CheckpointError(f"load: no checkpoint file at {path!r}")
    try:
        npz = _host.load(path, allow_pickle=False)
        if not hasattr(npz, "files"):  # numpy read a lone .npy array
            raise CheckpointError(f"load: {path!r} holds a single .npy array, not an .npz written by tg.save")
        with npz:
            arrays = {name: npz[name] for name in npz.files}  # read everything now: bad data fails here
    except CheckpointError:
        raise
    except Exception as e:  # zipfile.BadZipFile, ValueError, OSError, EOFError, ...
        raise CheckpointError(
            f"load: {path!r} is corrupt or truncated, or not an .npz file ({type(e).__name__}: {e})"
        ) from e
    if DOC_KEY not in arrays:
        raise CheckpointError(
            f"load: {path!r} is an .npz file without a {DOC_KEY!r} entry; it was not written by tg.save"
        )
    try:
        doc = json.loads(arrays.pop(DOC_KEY).tobytes().decode("utf-8"))
        fmt, version, root = doc["format"], doc["version"], doc["root"]
    except Exception as e:
        raise CheckpointError(
            f"load: {path!r} has an unreadable structure document ({type(e).__name__}: {e})"
        ) from e
    if fmt != FORMAT or version != VERSION:
        raise CheckpointError(
            f"load: {path!r} has format {fmt!r} version {version!r}; this tinygen reads {FORMAT!r} version {VERSION}"
        )
    try:
        return _decode(root, arrays, device, path)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(
            f"load: {path!r} has a malformed structure document ({type(e).__name__}: {e})"
        ) from e


def _decode(node, arrays, device, path):
    if not isinstance(node, dict):
        return node  # None, bool, int, float or str
    kind = node.get("type")
    if kind in ("tensor", "array"):
        if node["key"] not in arrays:
            raise CheckpointError(f"load: {path!r} describes an array {node['key']!r} that the file does not hold")
        array = backend.as_array(arrays[node["key"]], device=device)
        if kind == "array":
            return array
        return Tensor.wrap(array).requires_grad_(node.get("requires_grad", False))
    if kind in ("list", "tuple"):
        items = [_decode(v, arrays, device, path) for v in node["items"]]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        return {k: _decode(v, arrays, device, path) for k, v in node["items"]}
    raise CheckpointError(f"load: {path!r} holds a node of unknown type {kind!r}")
