"""Every code example in README.md and docs/ runs, so none of them rots.

Python blocks of one file run in order in one namespace (later blocks use earlier names);
`python demos/...` commands (in bash blocks or inline code) must parse: each demo's own test
(tests/test_demo*.py) smoke-runs its --quick form, so it is not run a second time here;
`python benchmarks/...` commands run end to end with --quick (slow).
"""

import os
import pathlib
import re
import shlex
import subprocess
import sys

import pytest
from _scripts import load_script

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md"))
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def blocks(path, language):
    return [body for lang, body in FENCE.findall(path.read_text()) if lang == language]


@pytest.mark.parametrize("path", [p for p in DOCS if blocks(p, "python")], ids=lambda p: p.name)
def test_python_examples_run(path, capsys):
    namespace = {"__name__": f"docs_{path.stem}"}
    for i, code in enumerate(blocks(path, "python")):
        try:
            exec(compile(code, f"{path.name}[python block {i}]", "exec"), namespace)
        except Exception as e:  # name the block, so a broken example is easy to find
            raise AssertionError(f"{path.name}, python block {i} failed: {type(e).__name__}: {e}") from e


def demo_commands():
    found = []
    for path in DOCS:
        for body in blocks(path, "bash") + [row for row in re.findall(r"`(python demos/[^`]+)`", path.read_text())]:
            for command in re.findall(r"python (demos/\S+\.py[^&|\n`]*)", body):
                # the GPU forms are for GPU machines: here they are the same smoke run as the CPU form
                found.append(" ".join(a for a in command.split() if a not in ("--device", "cuda")))
    return sorted(set(found))


@pytest.mark.parametrize("command", demo_commands())
def test_demo_commands_parse(command, capsys):
    """The demo exists and takes the documented options (its parse, as `python demos/...` would run it)."""
    script, *args = shlex.split(command)
    assert (ROOT / script).is_file(), f"{command}: no such demo"
    try:
        load_script(script).parse(args)
    except SystemExit:
        raise AssertionError(f"{command}: {capsys.readouterr().err.strip()}") from None


def benchmark_commands():
    found = []
    for path in DOCS:
        for body in blocks(path, "bash") + re.findall(r"`(python benchmarks/[^`]+)`", path.read_text()):
            found += [c.strip() for c in re.findall(r"python (benchmarks/\S+\.py[^&|\n`#]*)", body)]
    # gpu_check.py needs a GPU and has no --quick form: tests/test_gpu_check.py runs it on the stand-in
    return sorted(c for c in set(found) if not c.startswith("benchmarks/gpu_check.py"))


def needs_mnist(args):
    return "benchmarks/iwae_nll.py" in args[0] or ("--images" in args and args[args.index("--images") + 1] == "mnist")


@pytest.mark.slow
@pytest.mark.parametrize("command", benchmark_commands())
def test_benchmark_commands_run_quickly(command, tmp_path):
    """Each benchmark the docs mention runs end to end in its --quick form (in a scratch folder)."""
    from tinygen.data import dataset_dir

    args = shlex.split(command)
    args = [a for a in args if not a.startswith("--data-root") and a != "../shared/data"]
    if needs_mnist(args) and not (dataset_dir("mnist") / "train-images-idx3-ubyte.gz").exists():
        pytest.skip("MNIST files not found (set $TINYGEN_DATA)")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, str(ROOT / args[0]), *args[1:], "--quick"],
                            cwd=tmp_path, capture_output=True, text=True, env=env)
    assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
