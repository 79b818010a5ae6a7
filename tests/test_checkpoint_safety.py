"""tg.save under faults: several processes saving to one path, a save that fails or is interrupted
halfway, a user's file that looks like a temporary one. Every load of the target succeeds."""

import os
import pathlib
import subprocess
import sys
import time

import numpy as np
import pytest

import tinygen as tg

ROOT = pathlib.Path(__file__).resolve().parents[1]
# a writer process: saves {"w": its own constant, "i": the round} to one path, `rounds` times
WRITER = """
import sys
import tinygen as tg
path, k, rounds = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
for i in range(rounds):
    tg.save({"w": tg.full((50000,), k), "i": i}, path)
print("done")
"""


def test_concurrent_saves_to_one_path_always_leave_a_loadable_file(tmp_path):
    """Three processes save to one path while this one reads it back: no save fails, every read
    finds a whole checkpoint written by one of them, and no temporary file is left behind."""
    path = tmp_path / "checkpoint.npz"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(k), "40"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in (1, 2, 3)]
    reads = 0
    while any(w.poll() is None for w in writers):
        if path.exists():
            state = tg.load(path)  # a half-written or vanished file would raise here
            w = state["w"].numpy()
            assert w.shape == (50000,) and w[0] in (1.0, 2.0, 3.0) and (w == w[0]).all()
            reads += 1
        time.sleep(0.001)
    for w in writers:
        out, err = w.communicate()
        assert w.returncode == 0 and out.strip() == "done", err
    assert reads > 0
    assert sorted(os.listdir(tmp_path)) == ["checkpoint.npz"]  # each save cleaned up after itself
    assert tg.load(path)["i"] == 39


def test_a_users_file_named_like_the_old_temporary_is_never_touched(tmp_path):
    mine = tmp_path / "x.npz.tmp"
    mine.write_text("my notes")
    tg.save({"a": 1}, tmp_path / "x.npz")
    tg.save({"a": 2}, tmp_path / "x.npz")
    assert mine.read_text() == "my notes"
    assert sorted(os.listdir(tmp_path)) == ["x.npz", "x.npz.tmp"]


@pytest.mark.parametrize("fault", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_save_that_fails_halfway_removes_its_file_and_keeps_the_old_checkpoint(tmp_path, monkeypatch, fault):
    path = tmp_path / "c.npz"
    tg.save({"step": 1}, path)
    real_savez = np.savez

    def half_then_fault(f, **arrays):
        f.write(b"PK\x03\x04 half a zip file")  # some bytes are on disk when the fault strikes
        raise fault

    monkeypatch.setattr(np, "savez", half_then_fault)
    with pytest.raises(type(fault)) as info:
        tg.save({"step": 2}, path)
    monkeypatch.setattr(np, "savez", real_savez)
    assert sorted(os.listdir(tmp_path)) == ["c.npz"]  # no temporary file left
    assert tg.load(path)["step"] == 1
    if isinstance(fault, OSError):  # the message names the checkpoint, not the temporary file
        assert str(path) in str(info.value) and ".tmp" not in str(info.value)
        assert info.value.errno == 28


def test_an_error_names_the_target_and_keeps_its_type(tmp_path):
    target = tmp_path / "no-such-folder" / "c.npz"
    with pytest.raises(FileNotFoundError) as info:
        tg.save({"a": 1}, target)
    assert str(target) in str(info.value) and ".tmp" not in str(info.value)


def test_a_checkpoint_gets_the_usual_file_permissions(tmp_path):
    previous = os.umask(0o022)
    try:
        tg.save({"a": 1}, tmp_path / "c.npz")
    finally:
        os.umask(previous)
    assert (tmp_path / "c.npz").stat().st_mode & 0o777 == 0o644  # not a temporary file's 0600
