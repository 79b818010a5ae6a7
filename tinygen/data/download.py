"""Where dataset files live, and fetching them: mirrors, MD5 check, atomic rename.

The data root is, in order: the ``root`` argument, ``$TINYGEN_DATA``, ``~/.cache/tinygen``.
Each dataset has its own folder under it (``<root>/mnist/``, ``<root>/fashion-mnist/``) holding
its four standard ``.gz`` files. A missing file is downloaded to a temporary name in that folder,
its MD5 checked, and only then renamed into place, so an interrupted or corrupt download never
leaves a file that looks finished.

Files already on disk are checked too (:func:`verify`): the first time one is read, its MD5 is
compared with the published one, and a match is remembered in ``.tinygen-checksums.json`` next
to it, keyed by the file's size and modification time, so later runs do not hash it again (a
read-only data folder: the note goes to ``~/.cache/tinygen/checksums.json`` instead). A file
that does not match stops the run with a ChecksumError naming it and saying how to fix it.
"""

import hashlib
import http.client
import json
import os
import tempfile
import urllib.request
from pathlib import Path

from ..progress import Progress

FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)

# name -> mirrors (tried in order; the MD5 check makes plain http safe) and the MD5 of each file
SOURCES = {
    "mnist": {
        "mirrors": (
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ),
        "md5": dict(zip(FILES, (
            "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "d53e105ee54ea40749a09fcbcd1e9432",
            "9fb629c4189551a2d022fa330f9573f3",
            "ec29112dd5afa0611ce80d1b7f02629c",
        ))),
    },
    "fashion-mnist": {
        "mirrors": (
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        ),
        "md5": dict(zip(FILES, (
            "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "25c81989df183df01b3e8a0aad5dffbe",
            "bef4ecab320f06d8554ea6380940ec79",
            "bb300cfdad3c16e7a12a480ee83cd310",
        ))),
    },
}

_CHUNK = 1 << 20
CHECKSUM_NOTES = ".tinygen-checksums.json"  # in a dataset's folder: the files whose MD5 matched, by size and mtime


class DatasetNotFoundError(FileNotFoundError):
    """The files of a dataset are not on disk and could not be downloaded."""


class ChecksumError(ValueError):
    """A file's MD5 is not the published one."""


def data_root(root=None):
    """The folder that holds one subfolder per dataset."""
    if root is None:
        root = os.environ.get("TINYGEN_DATA") or Path.home() / ".cache" / "tinygen"
    return Path(root).expanduser()


def dataset_dir(name, root=None):
    """``<data root>/<name>``: the folder of one dataset's files (see data_root)."""
    return data_root(root) / name


def md5sum(path):
    """The MD5 of a file as a hex string, read in 1 MB chunks: compared with the published checksums."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_file(url, dest, md5, timeout=30.0, quiet=None):
    """Download ``url`` to ``dest`` if its MD5 is ``md5``; on any failure nothing is left at ``dest``."""
    dest = Path(dest)
    fd, part = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        digest = hashlib.md5(usedforsecurity=False)
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            size = response.headers.get("Content-Length")
            received = 0
            total = int(size) if size else None
            with Progress(total=total, desc=dest.name, quiet=quiet, unit="B", unit_scale=True) as bar:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
        if size and received != int(size):  # read(n) just stops when the server hangs up early
            raise ConnectionError(f"download: {url} ended after {received} of {size} bytes")
        if digest.hexdigest() != md5:
            raise ChecksumError(f"download: {url} has MD5 {digest.hexdigest()}, expected {md5}")
        os.replace(part, dest)  # atomic: dest is either absent or complete
    finally:
        if os.path.exists(part):
            os.remove(part)
    _remember(dest, md5)  # just checked: the first read need not hash it again
    return dest


# ---------------------------------------------------------------- checking files already on disk
def _notes_files(folder):
    """Where the checksum notes of ``folder``'s files may be kept, in order of preference: next to them,
    unless the folder is read-only (no write permission for anyone: root, who may write anyway, is
    kept out too), then the home cache."""
    home = Path.home() / ".cache" / "tinygen" / "checksums.json"
    read_only = not os.stat(folder).st_mode & 0o222 or not os.access(folder, os.W_OK)
    return [home] if read_only else [Path(folder) / CHECKSUM_NOTES, home]


def _stamp(path):
    """What identifies one version of a file: its absolute path, size and modification time."""
    info = os.stat(path)
    return str(Path(path).resolve()), info.st_size, info.st_mtime_ns


def _read_notes(notes):
    try:
        with open(notes) as f:
            found = json.load(f)
        return found if isinstance(found, dict) else {}
    except (OSError, ValueError):  # none yet, unreadable or damaged: hash again
        return {}


def _remembered(path, md5):
    """Whether a note says this very version of ``path`` (same size and mtime) has MD5 ``md5``."""
    where, size, mtime = _stamp(path)
    for notes in _notes_files(Path(path).parent):
        entry = _read_notes(notes).get(where)
        if entry == {"size": size, "mtime_ns": mtime, "md5": md5}:
            return True
    return False


def _remember(path, md5):
    """Note that ``path``, as it is now, has MD5 ``md5``: next to it, else in the home cache, else nowhere."""
    where, size, mtime = _stamp(path)
    for notes in _notes_files(Path(path).parent):
        entries = _read_notes(notes)
        entries[where] = {"size": size, "mtime_ns": mtime, "md5": md5}
        try:
            notes.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=notes.parent, prefix=f".{notes.name}.", suffix=".part")
            try:
                os.fchmod(fd, 0o644)  # mkstemp's 0600 would hide the notes from the folder's other users
                with os.fdopen(fd, "w") as f:
                    json.dump(entries, f, indent=1)
                os.replace(tmp, notes)  # atomic: a reader sees the old notes or the new ones
            finally:
                if os.path.exists(tmp):
                    os.remove(tmp)
            return notes
        except OSError:  # a read-only folder: try the next place
            continue
    return None


def verify(path, md5):
    """Check that ``path`` has the published MD5 ``md5`` (hashing it only the first time: see the
    module's notes); raises ChecksumError, naming the file and the fix, when it does not."""
    if md5 is None or _remembered(path, md5):
        return path
    found = md5sum(path)
    if found != md5:
        raise ChecksumError(
            f"{path} is not the published file: its MD5 is {found}, expected {md5} (a damaged or partial copy, "
            f"or another file under that name). Delete it and run again to download a fresh copy, or put the "
            f"published file there."
        )
    _remember(path, md5)
    return path


def fetch(name, root=None, download=True, quiet=None):
    """The folder holding ``name``'s four files, downloading the missing ones when allowed."""
    if name not in SOURCES:
        raise ValueError(f"fetch: unknown dataset {name!r}; expected one of {sorted(SOURCES)}")
    folder = dataset_dir(name, root)
    missing = [f for f in FILES if not (folder / f).is_file()]
    if not missing:
        return folder
    if not download:
        raise DatasetNotFoundError(_not_found(name, folder, missing, "download=False"))
    created = [p for p in (folder, *folder.parents) if not p.exists()]  # innermost first
    folder.mkdir(parents=True, exist_ok=True)
    source = SOURCES[name]
    for filename in missing:
        errors = []
        for mirror in source["mirrors"]:
            try:
                download_file(mirror + filename, folder / filename, source["md5"][filename], quiet=quiet)
                break
            except (OSError, http.client.HTTPException, ChecksumError) as e:  # offline, 404, cut off, bad MD5
                errors.append(f"{mirror}{filename}: {e}")
        else:
            for made in created:  # leave the disk as we found it: no empty cache folders
                if not any(made.iterdir()):
                    made.rmdir()
            raise DatasetNotFoundError(_not_found(name, folder, missing, "; ".join(errors)))
    return folder


def _not_found(name, folder, missing, reason):
    listing = "\n".join(f"    {folder / f}" for f in FILES)
    mirrors = ", ".join(SOURCES[name]["mirrors"])
    return (
        f"{name}: missing {', '.join(missing)} in {folder} and could not download them ({reason}).\n"
        f"Put the four standard files there:\n{listing}\n"
        f"(they are published at {mirrors}), or set $TINYGEN_DATA to a folder that holds {name}/."
    )
