"""`omnistock scenario run|check`: what-if scenarios from a YAML file, compared side by
side in the terminal, and with --out as JSON, CSV and PNG charts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from engine.cli.common import err, fail, read_settings
from engine.core.errors import KNOWN_ERRORS
from engine.runtime.process import prepare_process

if TYPE_CHECKING:
    from engine.scenarios.compare import Comparison

scenario = typer.Typer(help="What-if scenarios: run and compare variants.", no_args_is_help=True)
# Piped output (a log, a CI job) gets a table wide enough not to cut variant names.
out = Console(width=None if Console().is_terminal else 200)

FileArg = Annotated[Path, typer.Argument(help="the scenario file (YAML)", show_default=False)]


@scenario.command()
def check(file: FileArg) -> None:
    """Validate a scenario file and its base data; build every variant (nothing runs)."""
    from engine.scenarios.format import load_base, load_scenario
    from engine.scenarios.overrides import build_variants

    try:
        loaded = load_scenario(file)
        built = build_variants(loaded, *load_base(loaded))
    except KNOWN_ERRORS as error:
        fail(error)
    for variant in built:
        inputs = variant.inputs
        out.print(
            f"{inputs.name}: {inputs.planner}, {inputs.mode} mode", highlight=False, markup=False
        )
    for note in (n for v in built for n in v.notes):
        err.print(f"note: {note}", highlight=False, soft_wrap=True, markup=False)


@scenario.command()
def run(
    file: FileArg,
    jobs: Annotated[int, typer.Option(min=1, help="variants played at once (processes)")] = 1,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="write comparison.json, comparison.csv and charts here"),
    ] = None,
    replications: Annotated[
        int | None,
        typer.Option(min=1, max=100, help="demand draws per variant (file's default)"),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="the demand seed (file's default)")] = None,
    time_limit: Annotated[float, typer.Option(min=0.1, help="seconds per plan's solve")] = 60.0,
) -> None:
    """Play every variant over the horizon against the same demand and print the
    comparison with the base; --out also writes JSON, CSV and PNG charts."""
    # (One BLAS thread per process: set by the console entry, engine/cli/app.py.)
    from engine.scenarios.compare import comparison, render_table
    from engine.scenarios.format import load_base, load_scenario
    from engine.scenarios.run import run_scenario, settings_for

    prepare_process(read_settings())  # this process (and the variants' forks) plan
    try:
        loaded = load_scenario(file)
        snapshot, ruleset = load_base(loaded)
        settings = settings_for(loaded, replications, seed)
        with _bars() as bars:
            tasks: dict[str, TaskID] = {}

            def progress(variant: str, done: int, total: int) -> None:
                if variant not in tasks:
                    tasks[variant] = bars.add_task(variant, total=total)
                bars.update(tasks[variant], completed=done)

            result = run_scenario(loaded, snapshot, ruleset, settings, jobs, progress, time_limit)
    except KNOWN_ERRORS as error:
        fail(error)
    for note in result.notes:
        err.print(f"note: {note}", highlight=False, soft_wrap=True, markup=False)
    compared = comparison(result.results)
    out.print(render_table(compared))
    for variant in result.results:
        for warning in getattr(variant, "warnings", []):
            err.print(
                f"warning ({variant.name}): {warning}",
                highlight=False,
                soft_wrap=True,
                markup=False,
            )
    if out_dir is not None:
        _write(out_dir, compared)


@scenario.command()
def bench(
    files: Annotated[list[Path], typer.Argument(help="scenario files (YAML)", show_default=False)],
    jobs: Annotated[
        list[int], typer.Option("--jobs", min=1, help="--jobs values to run each file with")
    ] = [1, 2],  # noqa: B006 - typer reads the default; it is never mutated
) -> None:
    """Run each file as `omnistock scenario run FILE --jobs N` in a new process, for each
    N, and print seconds, CPU seconds and peak MiB side by side."""
    from rich.table import Table

    from engine.scenarios.bench import time_run

    table = Table(title="omnistock scenario run, each in a new process")
    for column in ("scenario", "variants", "SKUs x shops x days", "--jobs", "seconds"):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for column in ("CPU s", "peak MiB", "load"):
        table.add_column(column, justify="right")
    try:
        for file in files:
            for n in jobs:
                t = time_run(file, n)
                size = f"{t.skus:,} x {t.shops} x {t.days}"
                row = (t.scenario, str(t.variants), size, str(t.jobs), f"{t.seconds:.2f}")
                table.add_row(*row, f"{t.cpu_s:.2f}", f"{t.peak_mib:,.0f}", f"{t.load:.2f}")
    except KNOWN_ERRORS as error:
        fail(error)
    out.print(table)
    err.print(
        "peak MiB: the largest process of the run; load: the 1-minute load average as it"
        " started (wall time on a shared machine depends on it)",
        highlight=False,
    )


def _bars() -> Progress:
    return Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("days"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


def _write(out_dir: Path, compared: Comparison) -> None:
    from engine.core.files import write_atomically
    from engine.scenarios.charts import write_charts
    from engine.scenarios.compare import to_csv, to_json

    out_dir.mkdir(parents=True, exist_ok=True)
    document = json.dumps(to_json(compared), indent=2) + "\n"
    write_atomically(out_dir / "comparison.json", document)
    write_atomically(out_dir / "comparison.csv", to_csv(compared))
    written = [out_dir / "comparison.json", out_dir / "comparison.csv"]
    written += write_charts(compared, out_dir)
    for path in written:
        err.print(f"wrote {path}", highlight=False)
