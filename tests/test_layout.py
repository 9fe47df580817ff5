"""The package's floor plan, checked: imports flow one way, files and functions stay small.

The import graph is built with ``ast`` from the source of ``sparsead/`` (every
``import`` statement, the ones inside functions too: a lazy import is still a
dependency). Each module belongs to one layer of :data:`LAYERS`, listed bottom
to top; a module may import its own layer and the layers below, never above.
No module imports the package root ``sparsead`` (it is the public surface, on
top of everything, and loads its names lazily). At most one import cycle is
declared (:data:`DECLARED_CYCLE`); every other strongly connected component of
the graph is a single module.

Size: no file over :data:`MAX_LINES` lines and no function or method over
:data:`MAX_FUNCTION_LINES`, unless the module itself lists it, with its reason,
in a module-level dict literal ``_LONG_UNITS = {"qualified.name": "reason"}``
(read here with ``ast``, never imported; stale entries fail too).

PENDING layout-core: the branch ``layout-core`` (primitives in
``sparsead/primitives/``, one tracer, the compiler in ``sparsead/ad/numba/``) is
merged; the units of its files still over the limits without their own
``_LONG_UNITS`` entry are listed in :data:`PENDING_LAYOUT_CORE`, for that
branch's owner to split or to list with a reason (then this list goes).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "sparsead"

#: Layers, bottom to top: module-name prefixes (below ``sparsead.``).
LAYERS = [
    ("base", ["_version", "_errors", "_extras", "_validation", "_kernels"]),
    ("primitives", ["primitives"]),
    ("tracing", ["tracing"]),
    ("patterns", ["sparsity", "patterns", "examples"]),
    ("coloring", ["coloring"]),
    ("ad", ["ad"]),
    ("prepared", ["prepared", "_local"]),
    ("solvers", ["optimize", "_adapters", "_ipopt"]),
    ("cli", ["_io", "_networkx", "plot", "_cli_common", "_cli_bench", "cli", "__main__"]),
]

#: The one import cycle allowed, with its reason (None: there is none).
DECLARED_CYCLE = None

#: ``"path::unit"`` of layout-core's files over the limits, pending their owner's decision.
PENDING_LAYOUT_CORE: set = set()

MAX_LINES = 600
MAX_FUNCTION_LINES = 80

#: The name of the module-level dict literal in which a module lists its own long units:
#: ``{"qualified.name": "why it may be long"}`` (``"<file>"`` for the file itself).
ALLOW_NAME = "_LONG_UNITS"


def _modules():
    mods = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_pkg else parts)
        mods[name] = (path, is_pkg)
    return mods


def _targets(name, is_pkg, node, mods):
    """The ``sparsead`` modules one import statement loads (submodules resolved)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "sparsead"]
    if node.level:
        base = name.split(".") if is_pkg else name.split(".")[:-1]
        base = base[:len(base) - node.level + 1]
        pkg = ".".join(base + ([node.module] if node.module else []))
    else:
        pkg = node.module or ""
        if pkg.split(".")[0] != "sparsead":
            return []
    return [f"{pkg}.{a.name}" if f"{pkg}.{a.name}" in mods else pkg for a in node.names]


def _graph():
    mods = _modules()
    graph = {}
    for name, (path, is_pkg) in mods.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                deps.update(_targets(name, is_pkg, node, mods))
        deps.discard(name)
        graph[name] = deps
    return graph, mods


def _layer(name):
    if name == "sparsead":
        return len(LAYERS)                     # the package root: the top
    short = name[len("sparsead."):]
    for k, (_, prefixes) in enumerate(LAYERS):
        if any(short == p or short.startswith(p + ".") for p in prefixes):
            return k
    raise AssertionError(f"module {name} is in no layer of tests/test_layout.py; add it to "
                         "LAYERS where it belongs")


def _rel(mods, name):
    return mods[name][0].relative_to(ROOT).as_posix()


def _sccs(graph):
    """Strongly connected components (Tarjan), as sets of module names."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            out.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_every_module_is_in_a_layer_and_imports_flow_down():
    graph, _ = _graph()
    upward = [f"{a} ({LAYERS[_layer(a)][0]}) imports {b} ({LAYERS[_layer(b)][0]})"
              for a, deps in graph.items() for b in sorted(deps)
              if b != "sparsead" and _layer(b) > _layer(a)]
    assert not upward, "imports against the layers:\n" + "\n".join(upward)


def test_no_module_imports_the_package_root():
    graph, _ = _graph()
    offenders = sorted(a for a, deps in graph.items() if "sparsead" in deps)
    assert not offenders, f"these modules import the package root `sparsead`: {offenders}"


def test_at_most_the_declared_cycle():
    graph, mods = _graph()
    cycles = [c for c in _sccs(graph) if len(c) > 1]
    others = [sorted(c) for c in cycles]
    if DECLARED_CYCLE is not None:
        others = [c for c in others if set(c) != set(DECLARED_CYCLE[0])]
    assert not others, f"undeclared import cycles: {others}"


def _functions(tree):
    """``(qualified name, lines)`` of every function and method, nested ones included."""
    out = []

    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                q = prefix + child.name
                out.append((q, child.end_lineno - child.lineno + 1))
                walk(child, q + ".")
            elif isinstance(child, ast.ClassDef):
                walk(child, prefix + child.name + ".")

    walk(tree, "")
    return out


def _allowed(tree):
    """The module's own ``_LONG_UNITS`` dict literal (empty if none)."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == ALLOW_NAME for t in node.targets):
            allowed = ast.literal_eval(node.value)
            assert all(isinstance(v, str) and len(v) > 20 for v in allowed.values()), \
                f"every {ALLOW_NAME} entry needs its reason"
            return allowed
    return {}


def _sizes():
    """``(relative path, unit, lines, allowed)`` for every file and function of the package."""
    _, mods = _graph()
    for name, (path, _) in mods.items():
        rel = _rel(mods, name)
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        allowed = _allowed(tree)
        yield rel, "<file>", text.count("\n"), allowed
        for q, lines in _functions(tree):
            yield rel, q, lines, allowed


def test_files_and_functions_stay_small():
    too_long = [f"{rel}::{unit}: {lines} lines" for rel, unit, lines, allowed in _sizes()
                if f"{rel}::{unit}" not in PENDING_LAYOUT_CORE and unit not in allowed
                and lines > (MAX_LINES if unit == "<file>" else MAX_FUNCTION_LINES)]
    assert not too_long, ("over the size limits (split them, or list them with the reason in "
                          f"the module's {ALLOW_NAME}):\n" + "\n".join(too_long))


def test_allow_lists_have_no_stale_entries():
    found, listed = {}, {}
    for rel, unit, lines, allowed in _sizes():
        found[rel, unit] = lines
        listed.update({(rel, k): v for k, v in allowed.items()})
    stale = [f"{rel}::{unit}" for rel, unit in listed if found.get((rel, unit), 0) <= (
        MAX_LINES if unit == "<file>" else MAX_FUNCTION_LINES)]
    assert not stale, f"{ALLOW_NAME} entries that are short now (or gone): {stale}"
    done = [k for k in PENDING_LAYOUT_CORE if found.get(tuple(k.split("::")), 0)
            <= MAX_FUNCTION_LINES or (tuple(k.split("::")) in listed)]
    assert not done, f"PENDING_LAYOUT_CORE entries that are settled now: {done}"


@pytest.mark.parametrize("source, expected", [
    ("from . import coloring", {"sparsead.coloring"}),
    ("from . import __version__", {"sparsead"}),
    ("import sparsead as sa", {"sparsead"}),
    ("def f():\n    from .prepared import jacobian", {"sparsead.prepared.jacobian"}),
])
def test_the_graph_sees_every_kind_of_import(source, expected):
    """The checker itself: relative, absolute, root and lazy imports are all edges."""
    mods = _modules()
    deps = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            deps.update(_targets("sparsead.cli", False, node, mods))
    assert deps == expected
