"""The floor plan of docs/design.md stays true: imports follow the layers, and no two
packages (nor two modules of one package) import each other, even through others.

The layer contracts live in pyproject.toml ([tool.importlinter]) and run through
import-linter's command, whose report names every import that breaks one.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections import defaultdict
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("api", "engine", "rules", "solvers")
# `engine` is a set of areas, each a package of its own in the layers: its children
# stand beside the other top-level packages.
SPLIT = "engine"

Imports = dict[str, dict[str, tuple[str, str]]]  # importer -> imported -> one import


def contract_ids() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return [contract["id"] for contract in config["tool"]["importlinter"]["contracts"]]


@pytest.mark.parametrize("contract", contract_ids())
def test_layer_contract_holds(contract: str) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command; lint_imports_command()",
            "--no-cache",
            "--no-logo",
            "--contract",
            contract,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        pytest.fail(run.stdout + run.stderr, pytrace=False)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def child_of(parent: str, module: str) -> str | None:
    """The child of package `parent` that holds `module` (None: outside `parent`)."""
    if not module.startswith(parent + "."):
        return None
    return parent + "." + module[len(parent) + 1 :].split(".")[0]


def imports_between(graph: grimp.ImportGraph, unit_of: dict[str, str]) -> Imports:
    """Which unit imports which, with one import for each pair (to name in a failure)."""
    found: Imports = defaultdict(dict)
    for module, unit in sorted(unit_of.items()):  # sorted: the same cycle named every run
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            other = unit_of.get(imported)
            if other is not None and other != unit:
                found[unit].setdefault(other, (module, imported))
    return found


def cycle(imports: Imports) -> str | None:
    """One import cycle between the units, written out import by import."""
    try:
        TopologicalSorter({unit: sorted(imported) for unit, imported in imports.items()}).prepare()
    except CycleError as err:
        loop: list[str] = err.args[1]  # [u1, ..., u1], each imported by the one after it
        steps = [imports[unit][before] for unit, before in zip(loop[1:], loop, strict=False)]
        return "; ".join(f"{importer} -> {imported}" for importer, imported in steps)
    return None


def test_no_import_cycles_between_packages(graph: grimp.ImportGraph) -> None:
    unit_of = {}
    for module in graph.modules:
        top = module.split(".")[0]
        unit_of[module] = (child_of(SPLIT, module) or top) if top == SPLIT else top
    found = cycle(imports_between(graph, unit_of))
    if found is not None:
        pytest.fail(f"packages import each other: {found}", pytrace=False)


def test_no_import_cycles_inside_a_package(graph: grimp.ImportGraph) -> None:
    parents = sorted({module.rsplit(".", 1)[0] for module in graph.modules if "." in module})
    cycles = []
    for parent in parents:
        if parent == SPLIT:
            continue  # its children are packages: the test above
        unit_of = {
            module: unit
            for module in graph.modules
            for unit in [child_of(parent, module)]
            if unit is not None
        }
        found = cycle(imports_between(graph, unit_of))
        if found is not None:
            cycles.append(f"{parent}: {found}")
    if cycles:
        pytest.fail(
            "modules of one package import each other:\n" + "\n".join(cycles), pytrace=False
        )
