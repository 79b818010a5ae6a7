"""Downloads against a fake mirror on localhost: success, fallback, bad checksum, cut-off and offline."""

import functools
import http.server
import socket
import threading

import numpy as np
import pytest

from tinygen.data import ChecksumError, DatasetNotFoundError, load_dataset, md5sum, write_idx
from tinygen.data import download as dl
from tinygen.data.download import FILES


def write_fake_mnist(folder, n_train=12, n_test=5):
    """The four standard files holding small random images; returns {split: (images, labels)}."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    for split, prefix, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        made[split] = rng.integers(0, 256, (n, 4, 4), dtype=np.uint8), rng.integers(0, 10, n, dtype=np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", made[split][0])
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", made[split][1])
    return made


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class CutOffHandler(QuietHandler):
    """Promises 100000 bytes, sends 10, hangs up: a connection lost mid-download."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.write(b"\x1f\x8b" + bytes(8))


def _serve(handler):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_port}/"


@pytest.fixture
def mirror(tmp_path):
    """A folder of fake MNIST files served over http; yields (url, {split: arrays}, md5s)."""
    made = write_fake_mnist(tmp_path / "served")
    httpd, url = _serve(functools.partial(QuietHandler, directory=str(tmp_path / "served")))
    md5 = {f: md5sum(tmp_path / "served" / f) for f in FILES}
    yield url, made, md5
    httpd.shutdown()
    httpd.server_close()


def _closed_port_url():
    with socket.socket() as s:  # a port that was just free: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def _use_mirrors(monkeypatch, mirrors, md5):
    monkeypatch.setitem(dl.SOURCES, "mnist", {"mirrors": tuple(mirrors), "md5": md5})


def _leftovers(folder):
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


def test_downloads_verifies_and_reads(tmp_path, monkeypatch, mirror):
    url, made, md5 = mirror
    _use_mirrors(monkeypatch, [url], md5)
    x, y = load_dataset("mnist", "test", root=tmp_path / "cache", quiet=True)
    np.testing.assert_allclose(x[:, 0] * 255, made["test"][0], atol=1e-4)
    np.testing.assert_array_equal(y, made["test"][1])
    # no .part files remain; the MD5s just checked are noted for the first read
    assert _leftovers(tmp_path / "cache") == sorted(["mnist", dl.CHECKSUM_NOTES, *FILES])
    for f in FILES:
        assert md5sum(tmp_path / "cache" / "mnist" / f) == md5[f]


def test_falls_back_to_the_next_mirror(tmp_path, monkeypatch, mirror):
    url, made, md5 = mirror
    _use_mirrors(monkeypatch, [_closed_port_url(), url + "no-such-folder/", url], md5)  # refused, 404, good
    _, y = load_dataset("mnist", "train", root=tmp_path / "cache", quiet=True)
    np.testing.assert_array_equal(y, made["train"][1])


def test_present_files_are_not_downloaded(tmp_path, monkeypatch):
    write_fake_mnist(tmp_path / "mnist", n_train=2)
    _use_mirrors(monkeypatch, [_closed_port_url()], {f: md5sum(tmp_path / "mnist" / f) for f in FILES})
    assert len(load_dataset("mnist", root=tmp_path)[0]) == 2


def test_checksum_mismatch_leaves_nothing(tmp_path, monkeypatch, mirror):
    url, _, md5 = mirror
    bad = dict(md5, **{"train-images-idx3-ubyte.gz": "0" * 32})
    _use_mirrors(monkeypatch, [url], bad)
    with pytest.raises(DatasetNotFoundError, match="expected 0{32}") as info:
        load_dataset("mnist", root=tmp_path / "cache", quiet=True)
    assert "train-images-idx3-ubyte.gz" in str(info.value)
    # the other three files were good and stay; the bad one left neither a file nor a .part
    assert "train-images-idx3-ubyte.gz" not in _leftovers(tmp_path / "cache")
    assert not [n for n in _leftovers(tmp_path / "cache") if n.endswith(".part")]


def test_download_file_removes_a_bad_download(tmp_path, mirror):
    url, _, md5 = mirror
    cache = tmp_path / "cache"
    cache.mkdir()
    with pytest.raises(ChecksumError, match="has MD5 .* expected f{32}"):
        dl.download_file(url + FILES[1], cache / FILES[1], "f" * 32, quiet=True)
    assert _leftovers(cache) == []
    dl.download_file(url + FILES[1], cache / FILES[1], md5[FILES[1]], quiet=True)
    assert _leftovers(cache) == [dl.CHECKSUM_NOTES, FILES[1]]  # the file, and the note that its MD5 matched


def test_a_cut_off_download_leaves_nothing(tmp_path, monkeypatch):
    httpd, url = _serve(CutOffHandler)
    try:
        _use_mirrors(monkeypatch, [url], {f: "0" * 32 for f in FILES})
        with pytest.raises(DatasetNotFoundError, match="ended after 10 of 100000 bytes"):
            load_dataset("mnist", root=tmp_path / "cache", quiet=True)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert _leftovers(tmp_path / "cache") == []


def test_offline_error_lists_the_four_files_and_where_to_put_them(tmp_path, monkeypatch):
    _use_mirrors(monkeypatch, [_closed_port_url()], {f: "0" * 32 for f in FILES})
    monkeypatch.setenv("TINYGEN_DATA", str(tmp_path / "root"))
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("mnist", quiet=True)
    message = str(info.value)
    for f in FILES:
        assert str(tmp_path / "root" / "mnist" / f) in message
    assert "could not download" in message and "TINYGEN_DATA" in message
    assert not (tmp_path / "root").exists()  # not even an empty cache folder


def test_published_checksums_are_well_formed():
    for name in ("mnist", "fashion-mnist"):
        source = dl.SOURCES[name]
        assert set(source["md5"]) == set(FILES) and source["mirrors"]
        assert all(len(h) == 32 and int(h, 16) >= 0 for h in source["md5"].values())
    assert dl.SOURCES["mnist"]["md5"]["train-images-idx3-ubyte.gz"] == "f68b3c2dcbeaaa9fbdd348bbdeb94873"
