"""The floors cannot erode: every module of every folder imports only what its row below allows
(docs/architecture.md, "Who may import whom").

Each module is parsed with `ast`; every import is checked, at module level and inside functions
(`importlib.import_module("…")` with a literal name too). The standard library is always allowed,
and so is the module's own folder. A row names top-level packages (`torch`) or, to allow only part
of one, modules (`studio.models`). `lazy_only` packages may be imported inside functions only (an
optional dependency, or one a fast start must not pay for); `only_in` packages only by the files
named. tests/gan/test_gan_layering.py proves the gan row by running gan without the rest.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ANYTHING = frozenset({"*"})


@dataclass(frozen=True)
class Floor:
    may: frozenset[str]  # top-level packages, or dotted modules to allow only part of a package
    lazy_only: frozenset[str] = frozenset()  # inside functions only, never at module level
    only_in: dict[str, frozenset[str]] = field(default_factory=dict)  # package → files allowed
    never: frozenset[str] = frozenset()  # refused even where `may` is ANYTHING


def _f(*names: str) -> frozenset[str]:
    return frozenset(names)


FLOORS: dict[str, Floor] = {
    # The ground floor: stdlib only, so anything may build on it.
    "records": Floor(_f()),
    "crawler": Floor(_f("records", "scrapy", "twisted", "w3lib", "queuelib", "lxml", "PIL", "redis",
                        "scrapy_redis", "itemadapter")),
    # bson/pymongo: fiftyone's MongoDB driver (ObjectId columns, the supervisor's ping). Of the
    # crawler beside it, only the reader of the manifest it curates (stdlib and records only).
    "curation": Floor(_f("records", "crawler.manifest", "cv2", "numpy", "PIL", "imagehash", "fiftyone", "bson",
                         "pymongo", "filelock", "platformdirs", "tqdm", "torch"),
                      only_in={"torch": _f("curation/filter_model.py")}),
    # Runs alone on a GPU machine: safetensors for weights; torch-fidelity for FID's Inception, an
    # optional metric imported where it is computed.
    "gan": Floor(_f("torch", "torchvision", "numpy", "PIL", "safetensors", "torch_fidelity"),
                 lazy_only=_f("safetensors", "torch_fidelity")),
    # Pages call the packages' public functions; from studio only the owners of the workspace's
    # files (paths, config, the promoted model) and the one-line error.
    "app": Floor(_f("records", "crawler", "curation", "gan", "studio.workspace", "studio.config",
                    "studio.models", "studio.errors", "streamlit", "streamlit_drawable_canvas",
                    "pandas", "numpy", "PIL")),
    # The top floor may use everything below it, but not the app beside it: `studio app` starts
    # Streamlit on app/main.py by path, and what both need (the upload decoder) lives in curation.
    "studio": Floor(ANYTHING, never=_f("app")),
    "bench": Floor(ANYTHING),
    "tests": Floor(ANYTHING),
}

# Imports the table does not allow, found when it was written: each is a seam to fix, and the
# test fails when one is fixed but still listed here (so the list only shrinks).
KNOWN_VIOLATIONS: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class Import:
    name: str  # dotted: `a.b` for `import a.b`, `a.b.c` for `from a.b import c`
    line: int
    lazy: bool  # inside a function


def imports_of(source: str) -> list[Import]:
    """Every absolute import of a module's source (relative ones stay inside their package)."""
    found: list[Import] = []

    def visit(node: ast.AST, lazy: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend(Import(a.name, node.lineno, lazy) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.extend(Import(f"{node.module}.{a.name}", node.lineno, lazy) for a in node.names)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append(Import(node.args[0].value, node.lineno, True))
        inner = lazy or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(ast.parse(source), False)
    return found


def _allowed(name: str, may: frozenset[str]) -> bool:
    return any(name == m or name.startswith(m + ".") for m in may)


def violations(folder: str, relpath: str, source: str) -> list[tuple[str, str]]:
    """What in `source` (the file `relpath` of `folder`) its floor does not allow: (the package,
    one line saying where and why) each."""
    floor = FLOORS[folder]
    out = []
    for imp in imports_of(source):
        top = imp.name.split(".")[0]
        if top in sys.stdlib_module_names or top == folder:
            continue
        where = f"{relpath}:{imp.line}: {imp.name}"
        if _allowed(imp.name, floor.never):
            out.append((top, f"{where} ({folder}/ may not import {top})"))
        elif floor.may == ANYTHING:
            continue
        elif not _allowed(imp.name, floor.may):
            out.append((top, f"{where} ({folder}/ may not import {top})"))
        elif top in floor.lazy_only and not imp.lazy:
            out.append((top, f"{where} ({top} only inside functions)"))
        elif top in floor.only_in and relpath not in floor.only_in[top]:
            out.append((top, f"{where} ({top} only in {', '.join(sorted(floor.only_in[top]))})"))
    return out


def modules() -> list[tuple[str, str]]:
    """(folder, path relative to the repository) of every Python file of the project."""
    skip = {"node_modules", "studio-data", "demo-data", "build", "docs"}
    out = []
    for top in sorted(p for p in ROOT.iterdir() if p.is_dir() and p.name not in skip):
        if not top.name.startswith(".") and not top.name.endswith(".egg-info"):
            out += [(top.name, p.relative_to(ROOT).as_posix()) for p in sorted(top.rglob("*.py"))]
    return out


def test_every_folder_has_a_row():
    folders = {folder for folder, _ in modules()}
    assert folders - set(FLOORS) == set(), "a new top-level folder needs a row in FLOORS"


def test_no_module_imports_beyond_its_floor():
    problems, seen = [], set()
    for folder, rel in modules():
        for top, line in violations(folder, rel, (ROOT / rel).read_text(encoding="utf-8")):
            seen.add((rel, top))
            if (rel, top) not in KNOWN_VIOLATIONS:
                problems.append(line)
    assert problems == [], "\n".join(problems)
    assert KNOWN_VIOLATIONS - seen == set(), "fixed: remove these from KNOWN_VIOLATIONS"


FORBIDDEN = [
    ("records", "import scrapy"),  # the ground floor is stdlib only
    ("records", "from studio.workspace import Workspace"),
    ("crawler", "from curation.catalog import open_catalog"),  # a floor up
    ("crawler", "def f():\n    import fiftyone\n"),  # inside a function counts too
    ("curation", "from gan.models import Generator"),
    ("curation", "from crawler.store import RawStore"),  # the crawler's reader only, not its writer
    ("curation", "import torch"),  # only the filter model may
    ("curation", "from studio.errors import UserError"),
    ("gan", "import streamlit"),
    ("gan", "from studio.models import current"),
    ("gan", "from records import write_atomic"),  # gan runs without the rest of the studio
    ("gan", "import safetensors.torch"),  # at module level: only inside functions
    ("gan", "class C:\n    def f(self):\n        import importlib\n        importlib.import_module('cv2')\n"),
    ("app", "from studio.pipeline import run_pipeline"),  # studio's internals, not its file owners
    ("app", "import apscheduler"),
    ("studio", "def f():\n    from app.uploads import read_image\n"),  # app sits beside studio, not below
    ("studio", "import app.main"),
]


@pytest.mark.parametrize(("folder", "source"), FORBIDDEN)
def test_the_checker_refuses_a_forbidden_import(folder, source):
    assert violations(folder, f"{folder}/synthetic.py", source) != []


ALLOWED = [
    ("records", "import json, os\nfrom pathlib import Path\n"),
    ("crawler", "import scrapy\nfrom records import iter_jsonl\nfrom crawler.store import RawStore\n"),
    ("curation", "import cv2\nfrom curation.catalog import funnel\nfrom . import errors\n"),
    ("curation", "from crawler.manifest import sources_by_sha\n"),
    ("gan", "import torch\ndef f():\n    from safetensors.torch import load_file\n"),
    ("app", "import streamlit as st\nfrom studio.models import current\nfrom curation.catalog import set_label\n"),
    ("studio", "import typer\nfrom curation.files import read_upload\nfrom gan.sampling import grid_image\n"),
]


@pytest.mark.parametrize(("folder", "source"), ALLOWED)
def test_the_checker_passes_what_the_table_allows(folder, source):
    assert violations(folder, f"{folder}/synthetic.py", source) == []


def test_torch_is_allowed_in_curation_for_the_filter_model_only():
    assert violations("curation", "curation/filter_model.py", "import torch") == []
    assert violations("curation", "curation/dedup.py", "import torch") != []
