"""The reading path stays readable: small core, one-way imports, a docstring on every public name.

Run as a script for the figures (``python tests/test_reading_path.py``): the core's line
count per file, the import order of its modules, and the docstring coverage of the package.
"""

import ast
import importlib
import inspect
import io
import pathlib
import pkgutil
import tokenize

import tinygen

PACKAGE = pathlib.Path(tinygen.__file__).parent
# autograd + tensor + the elementwise, reduce, shape, linalg and activation ops (issue 16)
CORE = ["grad_mode.py", "tensor.py", "autograd.py", "tensor_methods.py", "ops/elementwise.py", "ops/reduce.py",
        "ops/shape.py", "ops/linalg.py", "ops/activation.py"]
CORE_LIMIT = 1300


def counted_lines(path):
    """Lines holding code or docstrings: blank lines and comment-only lines do not count."""
    lines = set()
    for tok in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
        if tok.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
                            tokenize.ENDMARKER):
            lines.update(range(tok.start[0], tok.end[0] + 1))
    return len(lines)


def module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name):
    """Whether the dotted tinygen name is a module or package (not a function or class in one)."""
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def tinygen_imports(path):
    """(module-level imports, function-level imports) of tinygen modules in one file, by module name."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    top, nested = set(), []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("tinygen")):
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else (package if node.level else "")
            base = ".".join(p for p in (base, node.module) if p)
            found = {f"{base}.{a.name}" if is_module(f"{base}.{a.name}") else base for a in node.names}
        elif isinstance(node, ast.Import):
            found = {a.name for a in node.names if a.name.startswith("tinygen")}
        else:
            continue
        if node.col_offset == 0:
            top |= found
        else:
            nested.extend(found)
    return top - {name}, nested


def import_graph():
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        graph[module_name(path)] = tinygen_imports(path)[0]
    return graph


def topological_order(graph, names):
    """The modules of ``names`` ordered so that each comes after what it imports; raises on a cycle."""
    order, state = [], {}

    def visit(n, trail):
        if state.get(n) == "done":
            return
        if state.get(n) == "active":
            raise AssertionError("import cycle: " + " -> ".join(trail + [n]))
        state[n] = "active"
        for m in sorted(graph.get(n, ())):
            visit(m, trail + [n])
        state[n] = "done"
        order.append(n)

    for n in names:
        visit(n, [])
    return order


def public_names():
    """(qualified name, object) for every public function and class of every tinygen module, and
    every public method and property of those classes (attached ones included)."""
    for info in pkgutil.walk_packages(tinygen.__path__, "tinygen."):
        module = importlib.import_module(info.name)
        yield info.name, module
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != info.name:
                continue
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            yield f"{info.name}.{name}", obj
            if inspect.isclass(obj):
                for attr, value in vars(obj).items():
                    if attr.startswith("_") or not (inspect.isfunction(value) or isinstance(value, property)):
                        continue
                    yield f"{info.name}.{name}.{attr}", (value if isinstance(value, property) else getattr(obj, attr))


def undocumented():
    missing = []
    for qualname, obj in public_names():
        doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else inspect.getdoc(obj)  # a class: its own
        if not (doc or "").strip():
            missing.append(qualname)
    return missing


# ---------------------------------------------------------------- the tests
def test_the_core_fits_in_one_sitting():
    counts = {f: counted_lines(PACKAGE / f) for f in CORE}
    assert sum(counts.values()) <= CORE_LIMIT, counts


def test_imports_run_one_way():
    graph = import_graph()
    topological_order(graph, sorted(graph))  # raises on any cycle in the package
    core = [module_name(PACKAGE / f) for f in CORE]
    order = [m for m in topological_order(graph, core) if m in core]
    assert order.index("tinygen.tensor") < order.index("tinygen.autograd") < order.index("tinygen.ops.elementwise")
    assert order[-1] == "tinygen.tensor_methods"


def test_no_function_level_imports_of_tinygen_modules():
    nested = {module_name(p): tinygen_imports(p)[1] for p in PACKAGE.rglob("*.py")}
    assert not {m: n for m, n in nested.items() if n}


def test_no_private_name_is_reached_from_another_file():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        modules = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("tinygen")):
                for alias in node.names:
                    if alias.name.startswith("_"):
                        offenders.append(f"{module_name(path)} imports {alias.name}")
                    modules.add(alias.asname or alias.name)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules
                    and node.attr.startswith("_") and not node.attr.startswith("__")):
                offenders.append(f"{module_name(path)} reads {node.value.id}.{node.attr}")
    assert not offenders


def test_every_public_name_has_a_docstring():
    assert not undocumented()


if __name__ == "__main__":
    counts = {f: counted_lines(PACKAGE / f) for f in CORE}
    for f, n in counts.items():
        print(f"{n:5d}  tinygen/{f}")
    print(f"{sum(counts.values()):5d}  the reading core (limit {CORE_LIMIT}; blank and comment lines not counted)")
    graph = import_graph()
    core = [module_name(PACKAGE / f) for f in CORE]
    print("import order:", " <- ".join(m.replace("tinygen.", "") for m in topological_order(graph, core)))
    names = list(public_names())
    missing = undocumented()
    print(f"docstrings: {len(names) - len(missing)} of {len(names)} public names "
          f"({100 * (len(names) - len(missing)) / len(names):.1f}%)")
