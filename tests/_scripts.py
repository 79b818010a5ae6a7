"""Import a demo or benchmark script by its path, so a test can call its functions in-process.

``python demos/vae.py`` puts demos/ on the script's path, and the demo imports demos/common.py
as ``common``; a test loads the same files by path instead of editing sys.path, so a demo called
``ddpm`` never shadows a package module. Each folder's one shared module (demos/common.py,
benchmarks/_timing.py) is loaded first under the name the scripts import it by.
"""

import importlib.util
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED = {"demos": "common", "benchmarks": "_timing"}  # folder -> the module its scripts share


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before running it, as import does (dataclasses and pickling look it up)
    spec.loader.exec_module(module)
    return module


def load_script(relative):
    """The module of the script at ROOT/``relative`` (e.g. "demos/vae.py"), loaded once and reused."""
    path = ROOT / relative
    name = f"{path.parent.name}_{path.stem}"  # demos_ddpm: a name no package module has
    if name not in sys.modules:
        shared = SHARED.get(path.parent.name)
        if shared and shared not in sys.modules:
            _load(path.parent / f"{shared}.py", shared)
        _load(path, name)
    return sys.modules[name]
