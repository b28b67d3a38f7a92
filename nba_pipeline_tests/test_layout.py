"""The package's shape, read from its source (every import, function-level ones included): Dagster's
private `dagster._` paths only in the two modules that must use them, and no import cycle between
files or between the package's top-level parts (issue 17)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "nba_pipeline"
# the embedded event log storage subclasses Dagster's private one; the facade re-exports, each with
# why, the few private names everything else needs
PRIVATE_DAGSTER_ALLOWED = {"nba_pipeline.instance.storage", "nba_pipeline.core.dagster_internals"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, tuple[Path, ast.Module]]:
    return {_module_name(p): (p, ast.parse(p.read_text(), str(p))) for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(module: str, path: Path, tree: ast.Module) -> list[tuple[int, str, list[str]]]:
    """(line, imported module, names imported from it) of every import statement in `module`."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's package, one level up per extra dot
                base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target, [a.name for a in node.names]))
    return found


def _imported_names(module: str, path: Path, tree: ast.Module) -> set[str]:
    """Everything `module` imports, dotted: each import's module and, for `from X import y`, also
    X.y (which may be a submodule)."""
    return {n for _, target, names in _imports(module, path, tree) for n in [target, *(f"{target}.{a}" for a in names)]}


def _import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {
        m: {n for n in _imported_names(m, path, tree) if n in modules and n != m} for m, (path, tree) in modules.items()
    }


def _part(module: str) -> str:
    """A module's top-level part: nba_pipeline.raw.sources.files -> raw; nba_pipeline.definitions -> definitions."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(set(graph) | {n for targets in graph.values() for n in targets}):
        if node not in index:
            visit(node)
    return sorted(found)


def test_private_dagster_paths_are_imported_only_by_the_storage_and_the_facade():
    private = []
    for module, (path, tree) in _modules().items():
        for line, target, names in _imports(module, path, tree):
            # `from dagster import _core` as well as `from dagster._core... import`
            dotted = [f"{target}.{n}" for n in names] if target == "dagster" else [target]
            if module not in PRIVATE_DAGSTER_ALLOWED and any(d.startswith("dagster._") for d in dotted):
                private.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {target}")
    assert private == [], "\n".join(["import these from core/dagster_internals.py (or a public API):", *private])


def test_the_runtime_package_imports_neither_the_dev_tools_nor_the_tests():
    """They are not in its distribution (dev/ is nba-pipeline-dev's; the image ships nba_pipeline only)."""
    outside = sorted(
        f"{path.relative_to(PACKAGE.parent)}:{line}: {target}"
        for module, (path, tree) in _modules().items()
        for line, target, _ in _imports(module, path, tree)
        if target.split(".")[0] in ("nba_pipeline_dev", "nba_pipeline_tests")
    )
    assert outside == []


def test_every_private_name_the_facade_exports_is_used():
    """A name no module needs any more goes from the facade too (and with it the reason to keep it)."""
    from nba_pipeline.core import dagster_internals

    used = set()
    for module, (path, tree) in _modules().items():
        if module != "nba_pipeline.core.dagster_internals":
            used |= _imported_names(module, path, tree)
    unused = sorted(n for n in dagster_internals.__all__ if f"nba_pipeline.core.dagster_internals.{n}" not in used)
    assert unused == [], f"no module imports {unused} from nba_pipeline.core.dagster_internals: drop them there"


def test_the_cycle_finder_finds_cycles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_files():
    cycles = _cycles(_import_graph())
    assert cycles == [], "modules that import each other: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_no_import_cycle_between_top_level_parts():
    cycles = _cycles(_part_graph())
    assert cycles == [], "parts that import each other: " + "; ".join(" <-> ".join(c) for c in cycles)


# the layers, each importing only those before it (ARCHITECTURE.md, "Layout")
LAYER_ORDER = ["environment", "core", "raw", "analytics", "precompute", "predictions", "exports"]
# parts beside the layers, and what each may import
MAY_IMPORT = {"warehouse": {"environment", "core"}, "instance": {"environment", "core", "warehouse"}}


def _part_graph() -> dict[str, set[str]]:
    parts: dict[str, set[str]] = defaultdict(set)
    for module, targets in _import_graph().items():
        parts[_part(module)] |= {_part(t) for t in targets if _part(t) != _part(module)}
    return parts


def _against_layer_order(parts: dict[str, set[str]]) -> list[str]:
    """Every import of a layer (or a part beside them) that the order does not allow."""
    upward = []
    for i, layer in enumerate(LAYER_ORDER):
        upward += [f"{layer} -> {p}" for p in sorted(parts.get(layer, set()) - set(LAYER_ORDER[:i]))]
    for part, allowed in MAY_IMPORT.items():
        upward += [f"{part} -> {p}" for p in sorted(parts.get(part, set()) - allowed)]
    return upward


def test_layers_import_only_the_layers_below_them():
    parts = _part_graph()
    # the walk sees the real graph (an empty one would pass anything)
    assert {"core", "raw"} <= parts["analytics"] and "core" in parts["raw"] and "analytics" in parts["predictions"]
    upward = _against_layer_order(parts)
    assert upward == [], "imports against the layer order: " + "; ".join(upward)


def test_the_layer_rule_names_an_upward_import():
    doctored = {"raw": {"core", "exports"}, "warehouse": {"core", "raw"}}
    assert _against_layer_order(doctored) == ["raw -> exports", "warehouse -> raw"]
