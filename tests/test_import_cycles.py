"""No import cycles between the project's modules: each module-level import points down.

A cycle (as `studio.pipeline` ↔ `studio.stages` once was) means neither module can be read, or
loaded, without the other. Imports inside functions and under `if TYPE_CHECKING:` do not count:
they run after both modules exist. A package's `__init__` re-exporting its own submodules is not a
cycle either (Python imports the package first, the submodule then finds it).

One floor is checked with lazy imports counted too: the catalog (`curation.catalog`) never
imports what stands on it — decide, scoring, rules, evidence, rescoring — not even inside a
function, where a loop (catalog → decide → catalog) once hid from the cycle check. And FiftyOne's
private `_sample_collection` is reached in one module of the catalog only.
"""

from __future__ import annotations

import ast

from tests.test_layering import ROOT, modules

PACKAGES = ("records", "crawler", "curation", "gan", "app", "studio")


def module_name(rel: str) -> str:
    parts = rel.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def eager_imports(source: str, name: str, is_package: bool, lazy: bool = False) -> list[str]:
    """Dotted names imported at module level (not in functions, not under TYPE_CHECKING); with
    `lazy`, every import wherever it is."""
    package = name if is_package else name.rpartition(".")[0]
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if not lazy and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            return
        if not lazy and isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return
        if isinstance(node, ast.Import):
            found.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            found.extend(f"{base}.{a.name}" for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return found


def graph(files: dict[str, tuple[str, bool]], lazy: bool = False) -> dict[str, set[str]]:
    """module → the project modules it imports at load time (`files`: name → (source, is package));
    with `lazy`, also those it imports inside functions."""
    edges: dict[str, set[str]] = {}
    for name, (source, is_package) in files.items():
        targets = set()
        for imported in eager_imports(source, name, is_package, lazy):
            while imported and imported not in files:  # `from a.b import f`: the module a.b
                imported = imported.rpartition(".")[0]
            own_package = name.startswith(imported + ".")  # a submodule needing its package's init
            if imported and imported != name and not own_package:
                targets.add(imported)
        edges[name] = targets
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            strong(v)
    return found


def project_files() -> dict[str, tuple[str, bool]]:
    return {module_name(rel): ((ROOT / rel).read_text(), rel.endswith("__init__.py"))
            for folder, rel in modules() if folder in PACKAGES}


def test_the_project_has_no_import_cycle():
    assert cycles(graph(project_files())) == []


def test_the_checker_finds_a_cycle_and_ignores_lazy_and_type_checking_imports():
    files = {
        "studio.pipeline": ("from studio.stages import curate_stage\n", False),
        "studio.stages": ("from studio.pipeline import Context\n", False),
        "studio.report": ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                          "    from studio.outcomes import Outcome\n", False),
        "studio.outcomes": ("def f():\n    from studio.report import render\n", False),
        "curation.catalog": ("from curation.catalog.connect import open_catalog\n", True),
        "curation.catalog.connect": ("from curation.catalog import identity\n", False),
        "curation.catalog.identity": ("from . import connect\n", False),
    }
    found = cycles(graph(files))
    assert ["studio.pipeline", "studio.stages"] in found
    assert ["curation.catalog.connect", "curation.catalog.identity"] in found  # the relative import
    assert len(found) == 2  # not the lazy one, not TYPE_CHECKING, not a package's own __init__


CATALOG = "curation.catalog"
ABOVE_THE_CATALOG = ("curation.decide", "curation.scoring", "curation.rules", "curation.evidence",
                     "curation.rescoring")
RAW_COLLECTION_OWNER = "curation/catalog/columns.py"


def catalog_calls_up(files: dict[str, tuple[str, bool]]) -> list[tuple[str, str]]:
    """(catalog module, module above the catalog) for every import, lazy ones included."""
    return sorted((name, target) for name, targets in graph(files, lazy=True).items()
                  if name == CATALOG or name.startswith(CATALOG + ".")
                  for target in targets
                  if any(target == up or target.startswith(up + ".") for up in ABOVE_THE_CATALOG))


def test_the_catalog_imports_nothing_above_it_not_even_lazily():
    assert catalog_calls_up(project_files()) == []


def test_the_floor_check_counts_lazy_imports():
    # The loop as it was before rescoring moved above decide and scoring (issue 20, item 2).
    files = {
        "curation.catalog": ("from curation.catalog.queries import set_kept\n", True),
        "curation.catalog.queries": ("def set_kept(ds):\n    from curation.decide import refresh_decisions\n", False),
        "curation.catalog.rescore": ("def rescore_now(ds):\n    from curation.decide import rescore\n", False),
        "curation.catalog.labels": ("def f():\n    from curation import rescoring\n", False),
        "curation.decide": ("from curation.catalog.columns import write_columns\n", False),
        "curation.catalog.columns": ("", False),
        "curation.rescoring": ("from curation.decide import rescore\n", False),
    }
    assert cycles(graph(files)) == []  # invisible to the load-time check
    assert catalog_calls_up(files) == [("curation.catalog.labels", "curation.rescoring"),
                                       ("curation.catalog.queries", "curation.decide"),
                                       ("curation.catalog.rescore", "curation.decide")]


def test_only_one_module_reaches_fiftyones_raw_collection():
    users = sorted(rel for folder, rel in modules()
                   if folder in PACKAGES and "_sample_collection" in (ROOT / rel).read_text())
    assert users == [RAW_COLLECTION_OWNER]
