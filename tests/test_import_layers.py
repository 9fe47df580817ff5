"""Imports flow one way through the lower layers: primitives, tracing, sparsity, ad (issue 12).

The import graph is built from the source with ``ast`` (every ``import``, at
module level or inside a function). Each checked module may import only from
the layers declared below it, and the modules of these layers form no cycle.
The upper layers (prepared operators, optimize, cli) are not checked here.
"""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1] / "sparsead"

#: module prefix -> the sparsead modules it may import (prefixes); checked top to bottom
LAYERS = {
    "sparsead.primitives": (),
    "sparsead.tracing": ("sparsead.primitives", "sparsead._errors", "sparsead._validation"),
    "sparsead.sparsity": ("sparsead.primitives", "sparsead.tracing", "sparsead._errors",
                          "sparsead._kernels", "sparsead._validation"),
    "sparsead.ad.numba": ("sparsead.primitives", "sparsead._errors", "sparsead.ad.numba",
                          "sparsead.ad.forward"),
    "sparsead.ad": ("sparsead.primitives", "sparsead.tracing", "sparsead._errors",
                    "sparsead._validation",
                    "sparsead.ad.forward", "sparsead.ad.reverse", "sparsead.ad.numba"),
}
#: modules of those layers owned by the layers above (the user-facing helpers)
NOT_CHECKED = {"sparsead.ad.api"}


def _modules():
    mods = {}
    for f in ROOT.rglob("*.py"):
        parts = f.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        mods[name] = f
    return mods


def _imports(name, path, mods):
    """The sparsead modules ``name`` imports (a package import counts only if no submodule
    is named)."""
    is_pkg = path.name == "__init__.py"
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in mods]
            out.update(subs if len(subs) == len(node.names) else subs + [target])
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m in mods and m != name}


def _layer(name):
    for prefix in LAYERS:
        if name == prefix or name.startswith(prefix + "."):
            return prefix
    return None


def _graph():
    mods = _modules()
    return {m: _imports(m, f, mods) for m, f in mods.items()}


def test_each_layer_imports_only_from_below():
    bad = []
    for name, targets in sorted(_graph().items()):
        layer = _layer(name)
        if layer is None or name in NOT_CHECKED:
            continue
        allowed = LAYERS[layer] + (layer,)
        for t in sorted(targets):
            if not any(t == a or t.startswith(a + ".") for a in allowed):
                bad.append(f"{name} imports {t}")
    assert not bad, "\n".join(bad)


def test_no_import_cycle_in_the_lower_layers():
    graph = {m: {t for t in ts if _layer(t) and t not in NOT_CHECKED}
             for m, ts in _graph().items() if _layer(m) and m not in NOT_CHECKED}
    state, cycles = {}, []

    def visit(m, path):
        state[m] = "open"
        for t in sorted(graph[m]):
            if state.get(t) == "open":
                cycles.append(path[path.index(t):] + [t])
            elif t not in state:
                visit(t, path + [t])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_no_module_imports_the_package_root():
    importers = sorted(m for m, ts in _graph().items() if "sparsead" in ts and _layer(m))
    assert importers == []
