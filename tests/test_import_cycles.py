"""No import cycles between the project's modules: each module-level import points down.

A cycle (as `studio.pipeline` ↔ `studio.stages` once was) means neither module can be read, or
loaded, without the other. Imports inside functions and under `if TYPE_CHECKING:` do not count:
they run after both modules exist. A package's `__init__` re-exporting its own submodules is not a
cycle either (Python imports the package first, the submodule then finds it).
"""

from __future__ import annotations

import ast

from tests.test_layering import ROOT, modules

PACKAGES = ("records", "crawler", "curation", "gan", "app", "studio")


def module_name(rel: str) -> str:
    parts = rel.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def eager_imports(source: str, name: str, is_package: bool) -> list[str]:
    """Dotted names imported at module level (not in functions, not under TYPE_CHECKING)."""
    package = name if is_package else name.rpartition(".")[0]
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            return
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
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


def graph(files: dict[str, tuple[str, bool]]) -> dict[str, set[str]]:
    """module → the project modules it imports at load time (`files`: name → (source, is package))."""
    edges: dict[str, set[str]] = {}
    for name, (source, is_package) in files.items():
        targets = set()
        for imported in eager_imports(source, name, is_package):
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
