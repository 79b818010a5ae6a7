"""Every line pointer in README.md and docs/ still points at what it names.

A pointer is a Markdown link whose target ends in a line anchor and whose text names the
symbol after a dash, e.g. [tinygen/models/vae.py — neg_elbo](../../tinygen/models/vae.py#L88).
Line numbers rot when code moves; this test names each pointer that went stale, and
``python tests/test_docs_pointers.py --fix`` moves each stale pointer to the one line that names its symbol.
"""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md"))
LINK = re.compile(r"\[([^\]]+)\]\(([^)\s#]+)#L(\d+)(?:-L\d+)?\)")
DASH = " — "
LOOKAHEAD = 2  # the symbol may sit on the anchored line or on one of the next two
ANCHOR = re.compile(r"\]\([^)\s]*#L\d+")  # every line-anchored link target, parsed by LINK or not


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


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: str(d.relative_to(ROOT)))
def test_every_line_anchor_is_a_pointer_the_checker_reads(doc):
    # a link text with a ']' in it (say `x[0]`) would slip past LINK and never be checked
    text = doc.read_text()
    assert len(ANCHOR.findall(text)) == len(pointers(text)), (
        f"{doc.name}: a line-anchored link the checker cannot read (no ']' in the link text, please)")


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


def fix(doc):
    """Rewrite ``doc``'s stale pointers to the line that names their symbol, where exactly one does;
    returns the pointers it could not fix."""
    text, left = doc.read_text(), []

    def moved(match):
        label, target, line = match.group(1), match.group(2), int(match.group(3))
        if DASH not in label or problem(doc, label, target, line) is None:
            return match.group(0)
        symbol = label.rsplit(DASH, 1)[1].strip().strip("`")
        path = (doc.parent / target).resolve()
        found = [i + 1 for i, t in enumerate(path.read_text().splitlines()) if symbol in t] if path.is_file() else []
        if len(found) != 1:
            left.append(f"{doc.name}: [{label}]({target}#L{line}): {symbol!r} on lines {found[:5]}")
            return match.group(0)
        return f"[{label}]({target}#L{found[0]})"

    doc.write_text(LINK.sub(moved, text))
    return left


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["--fix"]:
        sys.exit("usage: python tests/test_docs_pointers.py --fix")
    unfixed = [p for doc in DOCS for p in fix(doc)]
    print("\n".join(unfixed) or "every pointer names its line")
    sys.exit(1 if unfixed else 0)
