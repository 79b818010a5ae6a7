"""Every line pointer in README.md and docs/ still points at what it names.

A pointer is a Markdown link whose target ends in a line anchor and whose text names the
symbol after a dash, e.g. [tinygen/models/vae.py — neg_elbo](../../tinygen/models/vae.py#L88).
Line numbers rot when code moves; this test names each pointer that went stale.
"""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md"))
LINK = re.compile(r"\[([^\]]+)\]\(([^)\s#]+)#L(\d+)(?:-L\d+)?\)")
DASH = " — "
LOOKAHEAD = 2  # the symbol may sit on the anchored line or on one of the next two


def pointers(text):
    """(link text, target path, line number) of every line-anchored link in ``text``."""
    return [(label, target, int(line)) for label, target, line in LINK.findall(text)]


def problem(doc, label, target, line):
    """What is wrong with one pointer written in ``doc``, or None when it is right."""
    where = f"{doc.name}: [{label}]({target}#L{line})"
    if DASH not in label:
        return f"{where}: name the symbol after '{DASH.strip()}' in the link text"
    symbol = label.rsplit(DASH, 1)[1].strip().strip("`")
    path = (doc.parent / target).resolve()
    if ROOT not in path.parents or not path.is_file():
        return f"{where}: no file {target} (relative to {doc.parent.relative_to(ROOT)})"
    lines = path.read_text().splitlines()
    if not 1 <= line <= len(lines):
        return f"{where}: {target} has only {len(lines)} lines"
    window = lines[line - 1 : line + LOOKAHEAD]
    if not any(symbol in text for text in window):
        found = [i + 1 for i, text in enumerate(lines) if symbol in text]
        return f"{where}: {symbol!r} is not on line {line} or the {LOOKAHEAD} after it; it is on lines {found[:5]}"
    return None


def problems(doc, text=None):
    text = doc.read_text() if text is None else text
    return [p for p in (problem(doc, *ptr) for ptr in pointers(text)) if p]


@pytest.mark.parametrize("doc", [d for d in DOCS if pointers(d.read_text())], ids=lambda d: str(d.relative_to(ROOT)))
def test_every_pointer_names_its_line(doc):
    found = problems(doc)
    assert not found, "stale line pointers (fix the line number):\n" + "\n".join(found)


def test_each_math_note_points_into_the_code():
    notes = [d for d in (ROOT / "docs" / "math").glob("*.md") if d.name != "README.md"]
    assert len(notes) >= 4
    for note in notes:
        assert len(pointers(note.read_text())) >= 4, f"{note.name} has fewer than 4 line pointers"


# ---------------------------------------------------------------- the checker checks
def _line_of(path, needle):
    return next(i + 1 for i, text in enumerate((ROOT / path).read_text().splitlines()) if needle in text)


def test_checker_accepts_a_right_pointer_and_the_two_lines_after():
    line = _line_of("tinygen/models/vae.py", "def neg_elbo")
    doc = ROOT / "docs" / "math" / "vae.md"
    assert problems(doc, f"[tinygen/models/vae.py — neg_elbo](../../tinygen/models/vae.py#L{line})") == []
    assert problems(doc, f"[vae.py — `neg_elbo`](../../tinygen/models/vae.py#L{line - 2})") == []


@pytest.mark.parametrize(
    "text, complaint",
    [
        ("[tinygen/models/vae.py — neg_elbo](../../tinygen/models/vae.py#L1)", "is not on line 1"),
        ("[tinygen/models/vae.py — neg_elbo](../../tinygen/models/vea.py#L1)", "no file"),
        ("[tinygen/models/vae.py](../../tinygen/models/vae.py#L1)", "name the symbol"),
        ("[vae.py — neg_elbo](../../tinygen/models/vae.py#L99999)", "has only"),
        ("[vae.py — neg_elbo](../../../etc/passwd#L1)", "no file"),
    ],
)
def test_checker_rejects_a_wrong_pointer(text, complaint):
    doc = ROOT / "docs" / "math" / "vae.md"
    assert len(pointers(text)) == 1
    (found,) = problems(doc, text)
    assert complaint in found
