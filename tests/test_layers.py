"""The package's layers (ARCHITECTURE.md, "Layers"): no import runs upwards, none hides in a function.

Every module's imports are read from its source (ast), not by importing it, so a module
that nothing imports yet is checked too.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from impactmodel.paths import ROOT

# Lowest first. A module may import modules of its own layer and of the layers below it.
# A part's modules belong to the part's layer, except those named in BY_ROLE.
LAYERS: list[tuple[str, list[str]]] = [
    ("foundation", ["impactmodel.paths", "impactmodel.config", "impactmodel.db", "impactmodel.enums",
                    "impactmodel.sheets", "impactmodel.stats", "impactmodel.inputs", "impactmodel.logs",
                    "impactmodel.audit", "impactmodel.jobs", "impactmodel.languages"]),
    ("tables", ["impactmodel.models"]),
    ("codebook", ["impactmodel.codebook"]),
    ("accounts and consortium", ["impactmodel.auth", "impactmodel.consortium"]),
    ("coding", ["impactmodel.coding"]),
    ("fieldwork", ["impactmodel.fieldwork"]),
    ("scoring", ["impactmodel.scoring"]),
    ("indicators, interchange and analysis", ["impactmodel.indicators", "impactmodel.interchange",
                                              "impactmodel.analysis"]),
    ("demo", ["impactmodel.demo"]),
    ("pages and commands", ["impactmodel.access", "impactmodel.web", "impactmodel.schema",
                            "impactmodel.downloads"]),
    ("application", ["impactmodel.app", "impactmodel.cli", "impactmodel"]),
]
# Every part's tables are one schema that any part may read; every part's pages and
# commands sit above all the parts, since a page may show what several parts hold.
BY_ROLE = {"models": "tables", "views": "pages and commands", "survey_views": "pages and commands",
           "forms": "pages and commands", "cli": "pages and commands", "tasks": "pages and commands",
           "wiring": "pages and commands"}
RANK = {name: rank for rank, (name, _) in enumerate(LAYERS)}

PACKAGE = ROOT / "impactmodel"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) == 3 and parts[2] in BY_ROLE:
        return BY_ROLE[parts[2]]
    if len(parts) == 3 and parts[2].endswith(("_views", "_cli")):   # e.g. fieldwork.withdrawal_views
        return "pages and commands"
    for name, prefixes in LAYERS:
        for prefix in prefixes:
            if module == prefix or (prefix != "impactmodel" and module.startswith(prefix + ".")):
                return name
    return None


def imports_of(module: str, source: str, is_package: bool = False) -> list[tuple[int, str, bool]]:
    """(line, impactmodel module imported, whether inside a function) for each import.

    ``from package import name`` counts as importing the module ``package.name`` when
    there is one, and otherwise as importing the package.
    """
    found: list[tuple[int, str, bool]] = []

    def targets(node: ast.Import | ast.ImportFrom) -> list[str]:
        if isinstance(node, ast.Import):
            return [alias.name for alias in node.names]
        base = node.module or ""
        if node.level:
            package = module.split(".")[:len(module.split(".")) - node.level + is_package]
            base = ".".join(package + ([node.module] if node.module else []))
        return [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.extend((child.lineno, target, in_function) for target in targets(child)
                             if target.split(".")[0] == "impactmodel")
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))
    visit(ast.parse(source), False)
    return found


def imports_of_module(module: str) -> list[tuple[int, str, bool]]:
    path = MODULES[module]
    return imports_of(module, path.read_text(encoding="utf-8"), path.name == "__init__.py")


def test_every_module_has_a_layer():
    assert [m for m in MODULES if layer_of(m) is None] == [], \
        "place each new module in a layer: tests/test_layers.py LAYERS and ARCHITECTURE.md"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_runs_upwards(module):
    rank = RANK[layer_of(module)]
    upwards = [f"line {line}: {target} ({layer_of(target)})"
               for line, target, _ in imports_of_module(module) if RANK[layer_of(target)] > rank]
    assert not upwards, f"{module} ({layer_of(module)}) imports from a layer above its own: {upwards}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_hides_in_a_function(module):
    hidden = [f"line {line}: {target}" for line, target, inside in imports_of_module(module) if inside]
    assert not hidden, f"{module} imports inside a function (import at the top instead): {hidden}"


def test_the_check_reads_what_a_module_imports():
    source = ("import os\n"
              "from impactmodel import sheets\n"
              "from impactmodel.scoring import services as scoring\n"
              "from . import models\n"
              "from .models import Code\n"
              "\n"
              "def f():\n"
              "    import impactmodel.db\n"
              "    return [lambda: __import__('os')]\n")
    assert imports_of("impactmodel.codebook.exchange", source) == [
        (2, "impactmodel.sheets", False), (3, "impactmodel.scoring.services", False),
        (4, "impactmodel.codebook.models", False), (5, "impactmodel.codebook.models", False),
        (8, "impactmodel.db", True)]
    # From the package's own __init__, "." is the package itself.
    assert imports_of("impactmodel.codebook", "from .models import Code\n", is_package=True) == [
        (1, "impactmodel.codebook.models", False)]


def test_layers_place_modules_by_part_and_role():
    assert layer_of("impactmodel.codebook.exchange") == "codebook"
    assert layer_of("impactmodel.fieldwork.models") == "tables"
    assert layer_of("impactmodel.coding.views") == "pages and commands"
    assert layer_of("impactmodel.cli") == "application" and layer_of("impactmodel") == "application"
    assert layer_of("impactmodel.stats.bootstrap") == "foundation"
    assert layer_of("impactmodel.elsewhere") is None
    # The order the rule enforces: scoring may use fieldwork, never the reverse.
    assert RANK["fieldwork"] > RANK["coding"] > RANK["accounts and consortium"] > RANK["codebook"]
    assert RANK["scoring"] > RANK["fieldwork"]
