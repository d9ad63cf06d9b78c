"""`omnistock plan`, `validate`, `explain` and `demo`: planning on files, no server.

Exit codes: 0 ok, 2 invalid input, 3 hard rules that cannot all hold, 4 solver failure.
Errors go to stderr as a list naming the file, field, rule or SKU - never a traceback.
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import os
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path
from typing import Annotated, Any, NoReturn

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from engine.cli.common import EXIT_INPUT, add_plain_row, err, fail, read_settings
from engine.cli.digest_aside import digest_aside
from engine.core.allocation_table import AllocationTable
from engine.core.collector import collector_paused
from engine.core.columns import SnapshotColumns
from engine.core.errors import KNOWN_ERRORS, InputError, Issue
from engine.core.index import SnapshotIndex
from engine.core.io import load_plan, load_snapshot_columns, parse_snapshot_columns, read_document
from engine.core.modes import MODES, Mode
from engine.core.plan_files import PLAN_WRITERS, PlanWriter, plan_json
from engine.core.plan_tables import UnallocatedTable
from engine.core.settings import Settings
from engine.core.snapshot import Snapshot
from engine.demo import DEFAULT_SEED, DEFAULT_SKUS
from engine.planning.planner import columns_hash, plan_document
from engine.runtime.process import prepare_process
from rules.load import load_ruleset, parse_ruleset
from rules.references import check_references
from solvers.registry import available_backends

out = Console()


@contextmanager
def _stages(enabled: bool) -> Iterator[Callable[[str], None]]:
    """A progress line per pipeline stage (to stderr, so --json output stays clean)."""
    if not enabled:
        yield lambda stage: None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("planning", total=None)
        yield lambda stage: bar.update(task, description=f"planning: {stage}")


def _mode_option(mode: str | None) -> Mode | None:
    """The --mode option as a Mode (None: the snapshot's own); exit 2 naming it if not."""
    if mode is None:
        return None
    for known in MODES:
        if mode == known:
            return known
    fail(InputError([Issue("--mode", f"must be normal or peak, got {mode!r}")]))


def plan(
    snapshot: Annotated[Path, typer.Argument(help="snapshot file (.json/.yaml)")],
    rules: Annotated[Path, typer.Argument(help="ruleset file (.json/.yaml)")],
    mode: Annotated[
        str | None, typer.Option(help="normal or peak (default: the snapshot's)")
    ] = None,
    solver: Annotated[
        str | None, typer.Option(help="force a backend: closed, flow, glop, mip, pulp")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="write the plan here: .json, or .parquet / .ndjson for plans too big "
            "to read as one JSON document (allocations as rows of a table)",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the plan as JSON")] = False,
    time_limit: Annotated[float, typer.Option(help="wall-clock limit per solve, seconds")] = 60.0,
) -> None:
    """Compute one plan for every shop of every SKU."""
    planned_mode = _mode_option(mode)
    writer = _writer(output)
    settings = read_settings()
    # One plan, then the process ends: what it builds lives until then.
    with collector_paused():
        document, inputs = _plan_of_files(
            snapshot, rules, planned_mode, solver, time_limit, settings, not as_json
        )
        if output is not None and writer is not None:
            writer(document, output)
        if as_json:
            sys.stdout.buffer.write(plan_json(document))
        else:
            _print_plan(document, output)
        if _is_the_command():
            end_process()
        # Freed here, not after: the collector's first pass once resumed would scan it
        # all (0.3 s at 300,000 SKUs).
        del document, inputs


def _is_the_command() -> bool:
    """Whether this process is `omnistock` itself (its script, or `python -m
    engine.cli`), not a program calling the command's function (a test's CliRunner)."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None:
        return bool(spec.name == "engine.cli.__main__")
    return Path(getattr(main, "__file__", "") or "").name == "omnistock"


def end_process() -> NoReturn:
    """End a process whose work is done (the plan file written, closed and renamed)
    without freeing what it built: the exit handlers run and the output is flushed,
    but not the interpreter's teardown, which would free the snapshot's rows, the
    index and the plan one object at a time (0.4-0.9 s at 300,000 SKUs) for nothing."""
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _plan_of_files(
    snapshot: Path,
    rules: Path,
    mode: Mode | None,
    solver: str | None,
    time_limit: float,
    settings: Settings,
    show_stages: bool,
) -> tuple[dict[str, Any], tuple[Any, ...]]:
    """The plan document (allocations as columns) of the files, and what it was made
    from (kept, not freed, until the process ends: see `end_process`); exit naming the
    fault if they do not plan."""
    try:
        columns = load_snapshot_columns(snapshot, fork=settings.fork_aside)
        ruleset = load_ruleset(rules)
        # The allocator tuning for the planner's arrays (engine/runtime/allocator.py),
        # once the files are read: their millions of small rows on huge pages were the
        # slower part (300,000 SKUs: the snapshot read alone 5.3-5.7 s of CPU tuned,
        # 4.2-4.8 s not; the whole command 21.1 s against 21.9 s, means of five runs).
        the_mode = mode or columns.mode
        # Worked out on the other core while the index is built and the plan solved
        # (engine/cli/digest_aside.py): waited for once solved.
        digest = digest_aside(
            lambda: columns_hash(columns, ruleset, the_mode), forked=settings.fork_aside
        )
        prepare_process(settings)
        # Loaded before the planner's clock starts: a command plans once, and loading
        # OR-Tools' model builder and scipy.sparse on first use (0.15-0.25 s) is the
        # process's start-up, not planning; the plan's `timing` is the planner's own.
        available_backends()
        with _stages(show_stages and sys.stderr.isatty()) as say:
            say("index")
            index = SnapshotIndex.of_columns(columns)
            document = plan_document(
                index,
                ruleset,
                the_mode,
                digest.result,
                solver=solver,
                time_limit_s=time_limit,
                progress=say,
                columnar=True,
            )
            return document, (columns, index, ruleset)
    except KNOWN_ERRORS as error:
        fail(error)


def _writer(output: Path | None) -> PlanWriter | None:
    """The writer of the output file by its suffix; exit 2 naming -o if none fits."""
    if output is None:
        return None
    suffix = output.suffix.lower()
    if suffix not in PLAN_WRITERS:
        known = ", ".join(PLAN_WRITERS)
        fail(InputError([Issue("--output", f"unsupported plan file type {suffix!r}: {known}")]))
    return PLAN_WRITERS[suffix]


def _print_plan(p: dict[str, Any], output: Path | None) -> None:
    k = p["kpis"]
    out.print(
        f"[bold]{p['plan_id']}[/]  mode {p['mode']}  solver {p['solver']}  "
        f"{k['skus']} SKUs x {k['shops']} shops ({k['cells']} cells)"
    )
    out.print(
        f"allocated {k['units_allocated']:,} of {k['units_pool']:,} units "
        f"({k['utilisation']:.1%}), shared {k['units_shared']:,}, "
        f"unallocated {k['units_unallocated']:,}"
    )
    timing = "  ".join(f"{name} {value:.3f}s" for name, value in p["timing"].items())
    out.print(f"timing: {timing}")
    parts = Table(title="backends", title_justify="left")
    for col in ("backend", "SKUs", "cells", "objective", "notes"):
        parts.add_column(col)
    for part in p["solver_parts"]:
        add_plain_row(
            parts,
            part["backend"],
            f"{part['skus']:,}",
            f"{part['cells']:,}",
            str(part["objective"]),
            "; ".join(part["notes"]),
        )
    out.print(parts)
    out.print(_per_shop(p["allocations"]))
    reasons = _units_by_reason(p["unallocated"])
    if reasons:
        table = Table(title="unallocated", title_justify="left")
        table.add_column("reason")
        table.add_column("units", justify="right")
        for reason, units in sorted(reasons.items(), key=lambda r: -r[1])[:15]:
            add_plain_row(table, reason, f"{units:,}")
        out.print(table)
    for w in p["warnings"]:
        out.print(
            f"[yellow]warning[/] {w['code']} {escape(w['rule'] or '')}: {escape(w['message'])}",
            highlight=False,
        )
    if output is not None:
        out.print(f"plan written to {output}")


def _units_by_reason(unallocated: list[dict[str, Any]] | UnallocatedTable) -> dict[str, int]:
    """Unallocated units per reason, the "kept ..." reasons without their details, in
    the order each first appears. Summed by array: hundreds of thousands of rows at
    300,000 SKUs, and a few distinct reasons."""
    if isinstance(unallocated, UnallocatedTable):
        return _without_details(unallocated.units_by_reason())
    reasons = list(map(itemgetter("reason"), unallocated))
    position = {reason: i for i, reason in enumerate(dict.fromkeys(reasons))}
    code = np.fromiter(map(position.__getitem__, reasons), dtype=np.int64, count=len(reasons))
    units = np.fromiter(
        map(itemgetter("quantity"), unallocated), dtype=np.float64, count=len(reasons)
    )
    # Float sums of whole numbers are exact below 2**53 units.
    sums = np.bincount(code, weights=units, minlength=len(position)).round().astype(np.int64)
    return _without_details(dict(zip(position, sums.tolist(), strict=True)))


def _without_details(units: dict[str, int]) -> dict[str, int]:
    """The "kept ..." reasons without their details (summed), the others as they are."""
    totals: dict[str, int] = defaultdict(int)
    for why, total in units.items():
        totals[why.split(" (")[0] if why.startswith("kept") else why] += total
    return totals


def _per_shop(allocations: list[dict[str, Any]] | dict[str, list[Any]] | AllocationTable) -> Table:
    shops, units, shared, listed = _shop_sums(allocations)
    table = Table(title="per shop", title_justify="left")
    for col in ("shop", "exclusive units", "shared units listed", "SKUs listed"):
        table.add_column(col, justify="right" if col != "shop" else "left")
    for row in zip(shops, units.tolist(), shared.tolist(), listed.tolist(), strict=True):
        add_plain_row(table, row[0], *(f"{n:,}" for n in row[1:]))
    return table


def _shop_sums(
    allocations: list[dict[str, Any]] | dict[str, list[Any]] | AllocationTable,
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Shops (sorted) and their exclusive units, shared units listed and cells listed."""
    if isinstance(allocations, AllocationTable):
        return allocations.per_shop()
    columns = allocations if isinstance(allocations, dict) else None
    if columns is None:
        rows = allocations if isinstance(allocations, list) else []
        columns = {k: [a[k] for a in rows] for k in ("shop", "quantity", "shared", "listed")}
    # Summed by array: each cell's shop as a code.
    shops = sorted(set(columns["shop"]))
    position = dict(zip(shops, range(len(shops)), strict=True))
    cells = len(columns["shop"])
    code = np.fromiter(map(position.__getitem__, columns["shop"]), dtype=np.int64, count=cells)
    # Float sums of whole numbers are exact below 2**53 units.
    sums = [
        np.bincount(
            code,
            weights=np.fromiter(columns[k], dtype=np.float64, count=cells),
            minlength=len(shops),
        )
        .round()
        .astype(np.int64)
        for k in ("quantity", "shared", "listed")
    ]
    return shops, sums[0], sums[1], sums[2]


def validate(
    files: Annotated[list[Path], typer.Argument(help="snapshot and/or ruleset files")],
    catalog: Annotated[
        str | None,
        typer.Option(
            metavar="TENANT",
            help="also check every SKU of the snapshot against this tenant's catalog",
        ),
    ] = None,
) -> None:
    """Check files and report every error at once; rules are checked against a snapshot
    given in the same call, and its SKUs against the catalog with --catalog."""
    problems: list[str] = []
    snapshots: list[SnapshotColumns] = []
    rulesets = []
    for path in files:
        try:
            data = read_document(path)
            if isinstance(data, dict) and "rules" in data:
                rulesets.append((path, parse_ruleset(data, str(path))))
            else:
                # As `plan` reads it: the quick column checks, the model where they
                # doubt (so the errors are the model's), no model object per row.
                snapshots.append(parse_snapshot_columns(data, str(path)))
        except InputError as error:
            problems.append(str(error))
    if len(snapshots) == 1:
        index = SnapshotIndex.of_columns(snapshots[0])
        for path, ruleset in rulesets:
            try:
                check_references(ruleset, index)
            except InputError as error:
                problems.append(f"{path}: {error}")
    if catalog is not None:
        models = [c.model if c.model is not None else c.snapshot() for c in snapshots]
        problems += _catalog_problems(catalog, models)
    if problems:
        for text in problems:
            err.print(f"[bold red]error:[/] {escape(text)}", highlight=False)
        raise typer.Exit(EXIT_INPUT)
    out.print(f"{len(files)} file(s) valid")


def _catalog_problems(tenant: str, snapshots: list[Snapshot]) -> list[str]:
    """The snapshots' SKUs that the tenant's product master does not hold."""
    from engine.cli.catalog import open_catalog
    from engine.services.catalog import snapshot_issues

    try:
        found = [snapshot_issues(open_catalog(), tenant, s) for s in snapshots]
    except KNOWN_ERRORS as error:
        return [str(error)]
    return [str(InputError(issues, "catalog")) for issues in found if issues]


def explain(
    plan_file: Annotated[Path, typer.Argument(metavar="PLAN", help="a plan JSON file")],
    sku: Annotated[str, typer.Option(help="the SKU to explain")],
    snapshot: Annotated[
        Path | None,
        typer.Option(help="the plan's snapshot: adds each cell's sales history and demand"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Why each number of a plan is what it is, for one SKU; with --snapshot, also the
    demand behind it (history in brief, the estimate the plan used)."""
    from engine.planning.explain import explain_demand, explain_sku

    try:
        the_plan = load_plan(plan_file)
        story = explain_sku(the_plan, sku)
        demand = None
        if snapshot is not None:
            index = SnapshotIndex.of_columns(load_snapshot_columns(snapshot))
            demand = explain_demand(index, sku)
    except KNOWN_ERRORS as error:
        fail(error)
        return
    if as_json:
        found = dataclasses.asdict(story)
        if demand is not None:
            found["demand"] = [dataclasses.asdict(cell) for cell in demand]
        sys.stdout.write(json.dumps(found, indent=2, ensure_ascii=False) + "\n")
        return
    out.print(f"[bold]{escape(story.sku)}[/] in {escape(the_plan.plan_id)}")
    for line in story.pool_lines:
        out.print(f"  {line}", highlight=False, markup=False)
    table = Table()
    for col in ("shop", "quantity", "shared", "why"):
        table.add_column(col)
    for cell in story.cells:
        add_plain_row(table, cell.shop, str(cell.quantity), str(cell.shared), cell.why)
    out.print(table)
    for line in story.unallocated:
        out.print(f"  {line}", highlight=False, markup=False)
    if demand is not None:
        from engine.cli.forecast import demand_table

        out.print(demand_table("demand in units a day", demand))


def demo(
    directory: Annotated[Path, typer.Argument(help="where to write the demo data")] = Path(
        "scenarios/demo"
    ),
    skus: Annotated[
        int,
        typer.Option(min=1, max=5_000_000, help="SKUs of the snapshot (same generator and rules)"),
    ] = DEFAULT_SKUS,
    seed: Annotated[int, typer.Option(help="the generator's seed")] = DEFAULT_SEED,
    history: Annotated[
        int,
        typer.Option(
            min=0, max=366, help="days of sales history instead of velocity rows (0: none)"
        ),
    ] = 0,
) -> None:
    """Write the demo snapshot and ruleset, its catalog (catalog.csv, shops.yaml,
    promotions.yaml) and a month of each brand's settlement files (settlement/<brand>/);
    deterministic: the same size and seed write the same bytes."""
    from engine.catalog.demo import write_catalog
    from engine.demo import build_demo, write_demo
    from engine.settlement.demo import write_settlement_demo

    paths = write_demo(directory, seed, skus, history)
    snapshot, _ = build_demo(seed, skus)
    paths += write_catalog(directory, snapshot, seed)
    paths += write_settlement_demo(directory, seed)
    for path in paths:
        out.print(f"wrote {path}")
