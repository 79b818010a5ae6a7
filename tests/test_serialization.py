"""tg.save / tg.load: nested structures round-trip, no pickle, atomic writes, clear errors."""

import json
import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tinygen import nn
from tinygen.serialization import DOC_KEY, CheckpointError


def test_nested_round_trip(tmp_path):
    obj = {
        "w": tg.tensor([[1.0, 2.0]], requires_grad=True),
        "ids": tg.tensor([1, 2, 3]),
        "raw": np.arange(6, dtype=np.int32).reshape(2, 3),
        "half": np.ones(3, dtype=np.float16),
        "meta": {"step": 7, "lr": 1e-3, "name": "run-1", "done": False, "none": None, "nan": float("nan")},
        "betas": (0.9, 0.999),
        "hist": [1, [2.5, "x"], {}],
        3: "int key",
    }
    path = tmp_path / "c.npz"
    tg.save(obj, path)
    back = tg.load(path)
    assert isinstance(back["w"], tg.Tensor) and back["w"].requires_grad
    np.testing.assert_array_equal(back["w"].detach().numpy(), [[1.0, 2.0]])
    assert back["ids"].dtype == tg.int64
    raw = tg.backend.to_host(back["raw"])  # raw arrays follow the default device too
    assert tg.backend.device_of(back["raw"]) == tg.get_default_device() and raw.dtype == np.int32
    np.testing.assert_array_equal(raw, obj["raw"])
    assert back["half"].dtype == np.float16
    assert back["betas"] == (0.9, 0.999) and isinstance(back["betas"], tuple)
    assert back["hist"] == [1, [2.5, "x"], {}]
    assert back[3] == "int key"
    meta = back["meta"]
    assert (meta["step"], meta["lr"], meta["name"], meta["done"], meta["none"]) == (7, 1e-3, "run-1", False, None)
    assert isinstance(meta["step"], int) and isinstance(meta["lr"], float) and np.isnan(meta["nan"])


def test_float_values_and_big_ints_are_exact(tmp_path):
    values = [0.1, 1 / 3, 1e-300, -2.5e300, 2**127 + 12345]  # PCG64's RNG state holds 128-bit ints
    tg.save({"v": values}, tmp_path / "f.npz")
    assert tg.load(tmp_path / "f.npz")["v"] == values


def test_module_state_dict_round_trip(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    tg.save(model.state_dict(), tmp_path / "m.npz")
    other = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    other.load_state_dict(tg.load(tmp_path / "m.npz"))
    for (k, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)


def test_file_is_a_plain_npz_without_pickle(tmp_path):
    path = tmp_path / "c.npz"
    tg.save({"model": {"fc.weight": tg.ones(2, 2)}, "step": 3}, path)
    with np.load(path, allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(["model.fc.weight", DOC_KEY])
        assert all(npz[k].dtype != object for k in npz.files)
        doc = json.loads(npz[DOC_KEY].tobytes().decode())
    assert doc["format"] == "tinygen.save" and doc["version"] == 1


def test_colliding_flat_keys_stay_apart(tmp_path):
    obj = {"a": {"b": tg.ones(1)}, "a.b": tg.zeros(1)}  # both flatten to "a.b"
    tg.save(obj, tmp_path / "c.npz")
    back = tg.load(tmp_path / "c.npz")
    assert back["a"]["b"].item() == 1.0 and back["a.b"].item() == 0.0


@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4) | st.integers(), inner, max_size=3),
    max_leaves=10,
))
def test_plain_values_round_trip(tmp_path_factory, obj):
    path = tmp_path_factory.mktemp("h") / "c.npz"
    tg.save({"x": obj}, path)
    assert tg.load(path)["x"] == obj


def test_unsupported_objects_are_refused_and_leave_no_file(tmp_path):
    path = tmp_path / "c.npz"
    with pytest.raises(TypeError, match="cannot store set at opt.x"):
        tg.save({"opt": {"x": {1, 2}}}, path)
    with pytest.raises(TypeError, match="Python objects"):
        tg.save({"a": np.array([object()])}, path)
    with pytest.raises(TypeError, match="dict keys"):
        tg.save({(1, 2): 3}, path)
    assert os.listdir(tmp_path) == []


def test_failed_write_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    tg.save({"step": 1}, path)

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        tg.save({"step": 2}, path)
    assert os.listdir(tmp_path) == ["c.npz"]  # no .tmp left behind
    assert tg.load(path)["step"] == 1


def test_load_places_tensors_on_the_device(tmp_path):
    tg.save({"w": tg.ones(2)}, tmp_path / "c.npz")
    assert tg.load(tmp_path / "c.npz", device="cpu")["w"].device == "cpu"


@pytest.mark.gpu
def test_save_from_gpu_and_load_to_gpu(tmp_path):
    tg.save({"w": tg.ones(2, device="cuda"), "a": tg.zeros(2, device="cuda").array}, tmp_path / "c.npz")
    back = tg.load(tmp_path / "c.npz", device="cuda")
    assert back["w"].device == "cuda" and back["w"].sum().item() == 2.0
    assert tg.load(tmp_path / "c.npz", device="cpu")["w"].device == "cpu"


# ---------------------------------------------------------------- bad files
def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint file at .*nope.npz"):
        tg.load(tmp_path / "nope.npz")


@pytest.mark.parametrize("keep", [0, 10, 0.5, -30])
def test_truncated_file(tmp_path, keep):
    path = tmp_path / "c.npz"
    tg.save({"w": tg.randn(50, 50), "step": 3}, path)
    data = path.read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else keep
    path.write_bytes(data[:cut])
    with pytest.raises(CheckpointError, match="c.npz.*corrupt or truncated"):
        tg.load(path)


def test_garbage_file(tmp_path):
    path = tmp_path / "junk.npz"
    path.write_bytes(b"this is not a zip file at all" * 10)
    with pytest.raises(CheckpointError, match="junk.npz.*corrupt or truncated"):
        tg.load(path)


def test_flipped_bytes_inside_an_array(tmp_path):
    path = tmp_path / "c.npz"
    tg.save({"w": tg.zeros(1000)}, path)
    data = bytearray(path.read_bytes())
    data[400:410] = b"\xff" * 10  # inside the stored array: the zip's CRC check notices
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="c.npz"):
        tg.load(path)


def test_npz_not_written_by_tinygen(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, a=np.ones(3))
    with pytest.raises(CheckpointError, match="other.npz.*not written by tg.save"):
        tg.load(path)


def test_single_npy_array(tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, np.ones(3))
    with pytest.raises(CheckpointError, match="a.npy.*single .npy array"):
        tg.load(path)


def _write_doc(path, doc):
    np.savez(path, **{DOC_KEY: np.frombuffer(doc, dtype=np.uint8)})


def test_wrong_format_version(tmp_path):
    path = tmp_path / "v.npz"
    _write_doc(path, json.dumps({"format": "tinygen.save", "version": 99, "root": 1}).encode())
    with pytest.raises(CheckpointError, match="v.npz.*version 99"):
        tg.load(path)


def test_unreadable_structure_document(tmp_path):
    path = tmp_path / "d.npz"
    _write_doc(path, b"{not json")
    with pytest.raises(CheckpointError, match="d.npz.*structure document"):
        tg.load(path)


def test_document_naming_a_missing_array(tmp_path):
    path = tmp_path / "m.npz"
    root = {"type": "tensor", "key": "gone"}
    _write_doc(path, json.dumps({"format": "tinygen.save", "version": 1, "root": root}).encode())
    with pytest.raises(CheckpointError, match="m.npz.*'gone'"):
        tg.load(path)


def test_malformed_structure_document(tmp_path):
    path = tmp_path / "b.npz"
    root = {"type": "dict", "items": [["a"]]}  # a pair without its value
    _write_doc(path, json.dumps({"format": "tinygen.save", "version": 1, "root": root}).encode())
    with pytest.raises(CheckpointError, match="b.npz.*malformed structure document"):
        tg.load(path)
