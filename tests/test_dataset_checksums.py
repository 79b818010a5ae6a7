"""Dataset files already on disk are checked against the published MD5 the first time they are read;
the result is noted (next to them, or in ~/.cache/tinygen when their folder is read-only), keyed by
size and modification time, so later reads do not hash them again."""

import json
import os
import sys

import numpy as np
import pytest
from _scripts import load_script

from tinygen.data import ChecksumError, load_dataset, md5sum, write_idx
from tinygen.data import download as dl
from tinygen.data.download import FILES


@pytest.fixture
def published(tmp_path, monkeypatch):
    """A fake MNIST folder whose files are the 'published' ones (their MD5s in SOURCES), and a private HOME."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    folder = tmp_path / "data" / "mnist"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 12), ("t10k", 5)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 4, 4), dtype=np.uint8))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, n, dtype=np.uint8))
    monkeypatch.setitem(dl.SOURCES, "mnist", {**dl.SOURCES["mnist"], "md5": {f: md5sum(folder / f) for f in FILES}})
    return folder


def count_hashing(monkeypatch):
    hashed = []
    real = dl.md5sum
    monkeypatch.setattr(dl, "md5sum", lambda path: hashed.append(os.path.basename(path)) or real(path))
    return hashed


def test_the_first_read_hashes_and_notes_the_result_later_reads_do_not(published, monkeypatch):
    hashed = count_hashing(monkeypatch)
    load_dataset("mnist", "train", root=published.parent, download=False)
    assert sorted(hashed) == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    notes = json.loads((published / dl.CHECKSUM_NOTES).read_text())
    entry = notes[str((published / "train-images-idx3-ubyte.gz").resolve())]
    assert entry["size"] == (published / "train-images-idx3-ubyte.gz").stat().st_size and "mtime_ns" in entry
    hashed.clear()
    load_dataset("mnist", "train", root=published.parent, download=False)
    assert hashed == []  # same size and mtime: not hashed again


def test_a_changed_file_is_named_with_the_fix(published, monkeypatch):
    load_dataset("mnist", "test", root=published.parent, download=False)  # noted as good
    path = published / "t10k-labels-idx1-ubyte.gz"
    write_idx(path, np.full(5, 3, np.uint8))  # valid IDX, other labels: only the MD5 can tell
    with pytest.raises(ChecksumError) as info:
        load_dataset("mnist", "test", root=published.parent, download=False)
    message = str(info.value)
    assert str(path) in message and "is not the published file" in message
    assert "Delete it and run again to download a fresh copy" in message


def test_a_read_only_folder_keeps_its_notes_in_the_home_cache(published, tmp_path):
    os.chmod(published, 0o555)
    try:
        load_dataset("mnist", "test", root=published.parent, download=False)
        assert not (published / dl.CHECKSUM_NOTES).exists()
    finally:
        os.chmod(published, 0o755)
    notes = json.loads((tmp_path / "home" / ".cache" / "tinygen" / "checksums.json").read_text())
    assert str((published / "t10k-images-idx3-ubyte.gz").resolve()) in notes


def test_damaged_notes_mean_hashing_again_not_an_error(published, monkeypatch):
    (published / dl.CHECKSUM_NOTES).write_text("{not json")
    hashed = count_hashing(monkeypatch)
    load_dataset("mnist", "test", root=published.parent, download=False)
    assert len(hashed) == 2


def test_a_demo_reports_a_damaged_dataset_file_as_one_paragraph(published, tmp_path, capsys):
    classifier = load_script("demos/classifier.py")
    common = sys.modules["common"]
    write_idx(published / "train-labels-idx1-ubyte.gz", np.zeros(12, np.uint8))
    with pytest.raises(SystemExit) as stop:
        common.run(classifier.main, ["--dataset", "mnist", "--data-root", str(published.parent), "--quick", "--quiet",
                                     "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert stop.value.code == 1 and "train-labels-idx1-ubyte.gz is not the published file" in err
    assert "Traceback" not in err
