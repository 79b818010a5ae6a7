"""The GPU check, for the day a GPU is lent: what runs on it, and how fast, in one JSON report.

    python benchmarks/gpu_check.py                          # on a machine with CuPy and an NVIDIA GPU
    python benchmarks/gpu_check.py --json runs/gpu_check.json --full-suite
    python benchmarks/gpu_check.py --stand-in --skip bench  # the same steps on the strict CuPy stand-in

Steps, each with its exit status, seconds and the tail of its output in the report:

    environment  Python, NumPy, CuPy and its CUDA runtime, the GPU's name and memory, PyTorch and
                 whether it sees CUDA
    gpu-tests    python -m pytest -m gpu: the GPU-marked tests, on the real CuPy
    suite        (--full-suite) the whole suite with TINYGEN_DEVICE=cuda
    demos        every demo's quick form: python demos/NAME.py --quick --device cuda
    bench        benchmarks/run.py --quick with TINYGEN_DEVICE=cuda: tinygen on CuPy, its figures
                 copied into the report (run.py's PyTorch twin runs on the CPU, and its timer does
                 not wait for the GPU, so read these times as a smoke run, not a measurement)

The report says ``"ok": true`` when every step that ran exited 0. ``--stand-in`` runs the steps
on tests/strict_cupy.py instead of CuPy: it checks this script, not a GPU. Without a GPU (and
without --stand-in) the script says so and stops.
"""

import argparse
import datetime
import json
import os
import pathlib
import platform
import re
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEMOS = sorted(p.stem for p in (ROOT / "demos").glob("*.py") if p.stem != "common")
STEPS = ("environment", "gpu-tests", "suite", "demos", "bench")
TAIL = 3000  # characters of each command's output kept in the report


def environment_probe():
    """A small program, run in the checked environment, that prints what it finds as JSON."""
    return r"""
import json, platform, sys
import numpy
import tinygen as tg
from tinygen import backend
info = {"python": platform.python_version(), "numpy": numpy.__version__, "cuda_available": tg.cuda_is_available()}
if info["cuda_available"]:
    cupy = backend.xp_for("cuda")
    info["cupy"] = getattr(cupy, "__version__", "?") + (" (strict stand-in)" if cupy.__name__ == "strict_cupy" else "")
    props = cupy.cuda.runtime.getDeviceProperties(0)
    name = props.get("name", b"?")
    info["gpu"] = name.decode() if isinstance(name, bytes) else str(name)
    info["gpu_memory_gib"] = round(props.get("totalGlobalMem", 0) / 2**30, 1)
    try:
        info["cuda_runtime"] = cupy.cuda.runtime.runtimeGetVersion()
    except Exception:
        pass
try:
    import torch
    info["torch"] = torch.__version__
    info["torch_cuda"] = bool(torch.cuda.is_available())
except ImportError:
    info["torch"] = None
print(json.dumps(info))
"""


def run(command, env, timeout):
    """Run one command from the repository root: its exit status, seconds and output tail."""
    start = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        rc, output = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as e:
        partial = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        rc, output = "timeout", partial + f"\n(timed out after {timeout} s)"
    return {"command": " ".join(str(c) for c in command), "rc": rc, "seconds": round(time.perf_counter() - start, 1),
            "output_tail": output[-TAIL:]}


def pytest_counts(output):
    """{"passed": n, "failed": n, ...} from pytest's last summary line."""
    lines = [line for line in output.splitlines() if re.search(r"\d+ (passed|failed|error)", line)]
    return {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", lines[-1])} if lines else {}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", default="gpu_check.json", help="where the report goes (default: %(default)s)")
    parser.add_argument("--skip", default="", help=f"comma-separated steps to leave out, of {','.join(STEPS)}")
    parser.add_argument("--full-suite", action="store_true", help="also run the whole suite with the default device cuda")
    parser.add_argument("--demos", default=",".join(DEMOS), help="comma-separated demos to run (default: all)")
    parser.add_argument("--pytest-args", default="", help="extra pytest arguments for the test steps, e.g. \"-k conv\"")
    parser.add_argument("--stand-in", action="store_true", help="use the strict CuPy stand-in (no GPU needed)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per command (default: %(default)s)")
    args = parser.parse_args(argv)
    skip = {s for s in args.skip.split(",") if s}
    if skip - set(STEPS):
        parser.error(f"unknown steps {sorted(skip - set(STEPS))}; the steps are {', '.join(STEPS)}")

    env = dict(os.environ)
    env.pop("TINYGEN_STRICT_CUPY", None)
    env.pop("TINYGEN_CUPY_MODULE", None)
    env.pop("TINYGEN_DEVICE", None)
    python = [sys.executable]
    if args.stand_in:
        env["TINYGEN_STRICT_CUPY"] = "1"  # for pytest (tests/conftest.py)
        env["TINYGEN_CUPY_MODULE"] = "strict_cupy"  # for the scripts
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "tests")] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    extra = args.pytest_args.split()
    report = {"when": datetime.datetime.now().isoformat(timespec="seconds"), "host": platform.node(),
              "stand_in": args.stand_in, "steps": {}}

    probe = run(python + ["-c", environment_probe()], env, 300)
    try:
        report["environment"] = json.loads(probe["output_tail"].strip().splitlines()[-1])
    except (ValueError, IndexError):
        report["environment"] = {"error": probe["output_tail"]}
    report["steps"]["environment"] = probe
    if not report["environment"].get("cuda_available"):
        print("gpu_check: no GPU here (CuPy missing or sees none); --stand-in runs the steps on the test double",
              file=sys.stderr)
        report["ok"] = False
        return _write(report, args.json)

    if "gpu-tests" not in skip:
        step = run(python + ["-m", "pytest", "-q", "-m", "gpu", "-p", "no:cacheprovider"] + extra, env, args.timeout)
        step["counts"] = pytest_counts(step["output_tail"])
        report["steps"]["gpu-tests"] = step
    if args.full_suite and "suite" not in skip:
        step = run(python + ["-m", "pytest", "-q", "-p", "no:cacheprovider"] + extra,
                   dict(env, TINYGEN_DEVICE="cuda"), args.timeout)
        step["counts"] = pytest_counts(step["output_tail"])
        report["steps"]["suite"] = step
    if "demos" not in skip:
        report["steps"]["demos"] = {}
        for name in [d for d in args.demos.split(",") if d]:
            with tempfile.TemporaryDirectory() as out:
                command = [f"demos/{name}.py", "--quick", "--quiet", "--device", "cuda", "--out", out]
                step = run(python + _script(command, args.stand_in), env, args.timeout)
                metrics = pathlib.Path(out) / "metrics.json"
                step["metrics"] = json.loads(metrics.read_text()) if metrics.exists() else None
            report["steps"]["demos"][name] = step
            print(f"gpu_check: demo {name}: rc {step['rc']} in {step['seconds']} s", file=sys.stderr)
    if "bench" not in skip:
        with tempfile.TemporaryDirectory() as out:
            path = pathlib.Path(out) / "bench.json"
            command = ["benchmarks/run.py", "--quick", "--json", str(path)]
            step = run(python + _script(command, args.stand_in), dict(env, TINYGEN_DEVICE="cuda"), args.timeout)
            step["figures"] = json.loads(path.read_text()) if path.exists() else None
        report["steps"]["bench"] = step

    report["ok"] = all(_ok(step) for step in report["steps"].values())
    return _write(report, args.json)


def _script(command, stand_in):
    """A script's command line; on the stand-in, through tests/strict_cupy.py's runner."""
    return (["tests/strict_cupy.py"] + command) if stand_in else command


def _ok(step):
    if "rc" not in step:  # the demos: one step per demo
        return all(_ok(s) for s in step.values())
    return step["rc"] == 0


def _write(report, path):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"gpu_check: {'all steps passed' if report['ok'] else 'some steps FAILED'}; report in {path}", file=sys.stderr)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
