"""The house rules of the code layout, checked by reading every module with ``ast``.

Three rules hold for every module of ``gis/``, ``planning/``, ``ui/``, ``cli/`` and ``app.py``:

1. no import circle between modules (imports inside functions count: a deferred
   import hides a circle, it does not remove it);
2. no private name (``_x``) taken from another module, by ``from m import _x`` or by
   ``m._x``; the one exception is a package's own underscore module (``gis/store/_tables.py``
   may give ``_prepare`` to ``gis/store/gpkg.py``), which is how a package shares helpers;
3. the library (``gis/``, ``planning/``) and the CLI never import ``streamlit``.

The checker is plain functions over source text, so the tests also run it on small
made-up trees to show that each rule does fail when broken.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOP = ("gis", "planning", "ui", "cli")
NO_STREAMLIT = ("gis", "planning", "cli")


@dataclass(frozen=True)
class Import:
    """One import statement's target as seen from the importing module."""

    module: str
    names: tuple[str, ...]
    line: int


def module_sources(root: Path) -> dict[str, str]:
    """Map dotted module names (``gis.store.gpkg``; a package is its ``__init__``) to source."""
    out: dict[str, str] = {}
    for top in TOP:
        single = root / f"{top}.py"
        if single.is_file():
            out[top] = single.read_text(encoding="utf-8")
        pkg = root / top
        if not pkg.is_dir():
            continue
        for path in sorted(pkg.rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path.read_text(encoding="utf-8")
    if (root / "app.py").is_file():
        out["app"] = (root / "app.py").read_text(encoding="utf-8")
    return out


def _is_package(name: str, modules: Mapping[str, str], root: Path) -> bool:
    return (root / Path(*name.split(".")) / "__init__.py").is_file()


def imports_of(
    name: str, source: str, *, is_package: bool = False
) -> Iterator[tuple[Import, ast.AST]]:
    """Yield every import in a module (nested ones too), relative ones made absolute."""
    tree = ast.parse(source)
    base = name.split(".") if is_package else name.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name, (), node.lineno), node
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                stem = base[: len(base) - node.level + 1]
                target = ".".join([*stem, node.module] if node.module else stem)
            else:
                target = node.module or ""
            yield Import(target, tuple(a.name for a in node.names), node.lineno), node


def import_graph(modules: Mapping[str, str], root: Path) -> dict[str, set[str]]:
    """Edges from each module to the project modules it imports."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, source in modules.items():
        for imp, _node in imports_of(name, source, is_package=_is_package(name, modules, root)):
            if imp.module in modules:
                targets = [f"{imp.module}.{n}" for n in imp.names if f"{imp.module}.{n}" in modules]
                # ``from gis import crs`` depends on gis.crs; ``from gis.store import X`` on gis.store
                if len(targets) < len(imp.names) or not targets:
                    targets.append(imp.module)
            else:
                # ``import gis.store.gpkg``: the deepest project module named
                parts = imp.module.split(".")
                targets = [
                    ".".join(parts[:k])
                    for k in range(len(parts), 0, -1)
                    if ".".join(parts[:k]) in modules
                ][:1]
            graph[name].update(t for t in targets if t != name)
    return graph


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _may_share_private(importer: str, module: str) -> bool:
    """A package's underscore module shares its private names within that package."""
    *package, last = module.split(".")
    owner = ".".join(package)
    return bool(package) and _private(last) and (importer == owner or importer.startswith(owner + "."))


def private_crossings(modules: Mapping[str, str], root: Path) -> list[str]:
    """Every private name one project module takes from another, as readable lines."""
    found: list[str] = []
    for name, source in modules.items():
        bound: dict[str, str] = {}  # local name -> project module it stands for
        for imp, node in imports_of(name, source, is_package=_is_package(name, modules, root)):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in modules:
                        bound[alias.asname or alias.name.split(".")[0]] = (
                            alias.name if alias.asname else alias.name.split(".")[0]
                        )
                continue
            assert isinstance(node, ast.ImportFrom)
            if imp.module in modules and _private(imp.module.split(".")[-1]):
                if not _may_share_private(name, imp.module):
                    found.append(f"{name}:{imp.line} imports from {imp.module}")
                continue
            for alias in node.names:
                sub = f"{imp.module}.{alias.name}"
                if sub in modules:
                    bound[alias.asname or alias.name] = sub
                    if _private(alias.name) and not _may_share_private(name, sub):
                        found.append(f"{name}:{imp.line} imports module {sub}")
                elif (
                    imp.module in modules
                    and _private(alias.name)
                    and not _may_share_private(name, imp.module)
                ):
                    found.append(f"{name}:{imp.line} takes {alias.name} from {imp.module}")
        for node in ast.walk(ast.parse(source)):
            if (
                isinstance(node, ast.Attribute)
                and _private(node.attr)
                and isinstance(node.value, ast.Name)
                and node.value.id in bound
                and not _may_share_private(name, bound[node.value.id])
            ):
                found.append(f"{name}:{node.lineno} uses {bound[node.value.id]}.{node.attr}")
    return sorted(found)


def streamlit_in_library(modules: Mapping[str, str], root: Path) -> list[str]:
    """Modules of the library or the CLI that import streamlit (or a streamlit package)."""
    found = []
    for name, source in modules.items():
        if name.split(".")[0] not in NO_STREAMLIT:
            continue
        for imp, _node in imports_of(name, source, is_package=_is_package(name, modules, root)):
            top = imp.module.split(".")[0]
            if top == "streamlit" or top.startswith("streamlit_"):
                found.append(f"{name}:{imp.line} imports {imp.module}")
    return sorted(found)


# ---------------------------------------------------------------------------- the real tree


@pytest.fixture(scope="module")
def tree() -> dict[str, str]:
    return module_sources(ROOT)


def test_the_checker_sees_the_whole_tree(tree):
    for top in TOP:
        assert any(m == top or m.startswith(top + ".") for m in tree), top
    assert "gis.store" in tree and "gis.export" in tree and "planning.grids" in tree


def test_no_import_circle(tree):
    assert cycles(import_graph(tree, ROOT)) == []


def test_no_private_name_crosses_a_module(tree):
    assert private_crossings(tree, ROOT) == []


def test_the_library_never_imports_streamlit(tree):
    assert streamlit_in_library(tree, ROOT) == []


# ---------------------------------------------------------------- the checker on made-up trees


def _write(root: Path, files: Mapping[str, str]) -> dict[str, str]:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return module_sources(root)


def test_a_deferred_import_circle_is_found(tmp_path):
    mods = _write(
        tmp_path,
        {
            "gis/__init__.py": "",
            "gis/a.py": "from gis.b import f\n",
            "gis/b.py": "def f():\n    from gis import c\n",
            "gis/c.py": "from . import a\n",
            "gis/d.py": "from gis.a import f\n",
        },
    )
    assert cycles(import_graph(mods, tmp_path)) == [["gis.a", "gis.b", "gis.c"]]


def test_a_package_and_its_modules_are_not_a_circle(tmp_path):
    mods = _write(
        tmp_path,
        {
            "gis/__init__.py": "",
            "gis/store/__init__.py": "from gis.store.gpkg import Store\n",
            "gis/store/_tables.py": "def _prepare(): ...\n",
            "gis/store/gpkg.py": "from ._tables import _prepare\nclass Store: ...\n",
        },
    )
    assert cycles(import_graph(mods, tmp_path)) == []
    assert private_crossings(mods, tmp_path) == []


def test_private_names_across_modules_are_found(tmp_path):
    mods = _write(
        tmp_path,
        {
            "gis/__init__.py": "",
            "gis/export.py": "def _cell_text(): ...\n",
            "gis/atlas.py": "from gis.export import _cell_text, export_plan as _e\n",
            "ui/__init__.py": "",
            "ui/state.py": "from gis import export\nexport._cell_text()\n",
            "ui/_shared.py": "x = 1\n",
            "gis/store/__init__.py": "",
            "gis/store/_tables.py": "def _prepare(): ...\n",
            "gis/other.py": "from gis.store._tables import _prepare\n",
            "planning/__init__.py": "from ui._shared import x\n",
        },
    )
    assert private_crossings(mods, tmp_path) == [
        "gis.atlas:1 takes _cell_text from gis.export",
        "gis.other:1 imports from gis.store._tables",
        "planning:1 imports from ui._shared",
        "ui.state:2 uses gis.export._cell_text",
    ]


def test_streamlit_in_the_library_is_found(tmp_path):
    mods = _write(
        tmp_path,
        {
            "gis/__init__.py": "",
            "gis/a.py": "def f():\n    import streamlit as st\n",
            "cli/__init__.py": "from streamlit_folium import st_folium\n",
            "ui/__init__.py": "import streamlit\n",
        },
    )
    assert streamlit_in_library(mods, tmp_path) == [
        "cli:1 imports streamlit_folium",
        "gis.a:2 imports streamlit",
    ]


def test_the_paths_planners_scripts_use_still_import():
    import gis
    from gis.export import export_plan, read_shapefile_zip
    from gis.store import PlanStore, open_store, read_plan

    from gis.atlas import write_atlas  # old module paths: thin re-exports
    from gis.auth import GuardedStore
    from gis.pgstore import PostGISPlanStore
    from gis.plan import read_plan as old_read_plan

    from gis.export.atlas import write_atlas as new_write_atlas
    from gis.io import read_shapefile_zip as new_read_zip
    from gis.store.postgis import PostGISPlanStore as new_pg
    from gis.users import GuardedStore as new_guarded

    assert (write_atlas, GuardedStore, PostGISPlanStore, old_read_plan) == (
        new_write_atlas,
        new_guarded,
        new_pg,
        read_plan,
    )
    assert read_shapefile_zip is new_read_zip and callable(export_plan)
    assert gis.store.PlanStore is PlanStore and gis.plan.read_plan is read_plan
    assert open_store.__module__ == "gis.store"
