"""`omnistock bench`: the planner against general solvers, side by side in one run."""

from __future__ import annotations

import json
import math
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from engine.bench.baselines import BASELINES
from engine.bench.instances import FAMILIES
from engine.bench.run import Record, as_json, parse_size, run_bench
from engine.cli.common import add_plain_row, read_settings
from engine.runtime.process import prepare_process

out = Console(width=150)  # the table is wide; it stays readable in logs and pipes
err = Console(stderr=True)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def bench(
    sizes: Annotated[
        str, typer.Option(help="cells per instance, e.g. 10k,100k,1M (demo: SKUs, e.g. 5k,50k)")
    ] = "10k,100k",
    shops: Annotated[str, typer.Option(help="shops per instance, e.g. 10,50")] = "10",
    families: Annotated[
        str, typer.Option(help="separable, capacity, side, demo (the real stack)")
    ] = "separable,capacity",
    baselines: Annotated[str, typer.Option(help="pulp, glop, highs, or none")] = "pulp,glop,highs",
    repeat: Annotated[
        int, typer.Option(help="runs per solver, in one process each; the best counts")
    ] = 3,
    time_limit: Annotated[float, typer.Option(help="seconds before a run is stopped")] = 600.0,
    seed: Annotated[int, typer.Option(help="instance generator seed")] = 7,
    json_file: Annotated[Path | None, typer.Option("--json", help="write the records here")] = None,
) -> None:
    """Time omnistock against PuLP/CBC, GLOP and HiGHS on seeded instances; fails if any
    objective disagrees (1e-6 relative; where omnistock solved a part by relax and
    repair, a baseline may lie anywhere between its proven bound and its objective)."""
    try:
        size_list = [parse_size(s) for s in _split(sizes)]
        shop_list = [int(s) for s in _split(shops)]
    except ValueError as error:
        err.print(f"[bold red]error:[/] {escape(str(error))}")
        raise typer.Exit(2) from None
    family_list = _split(families)
    baseline_list = [] if baselines.strip() == "none" else _split(baselines)
    unknown = [f for f in family_list if f not in FAMILIES] + [
        b for b in baseline_list if b not in BASELINES
    ]
    if unknown or not family_list or not size_list or not shop_list or min(shop_list) < 1:
        err.print(
            f"[bold red]error:[/] unknown or empty option value(s): {unknown or 'empty'}; "
            f"families: {', '.join(FAMILIES)}; baselines: {', '.join(BASELINES)}, none"
        )
        raise typer.Exit(2)

    table = Table(
        title="omnistock bench (seconds: best of the runs in one process; "
        "ratio = solver seconds / omnistock seconds)"
    )
    for col in (
        "family",
        "cells",
        "shops",
        "solver",
        "seconds",
        "first run",
        "peak MiB",
        "objective",
        "ratio",
        "note",
    ):
        table.add_column(
            col,
            justify="right"
            if col in ("cells", "shops", "seconds", "first run", "peak MiB", "ratio")
            else "left",
        )

    def show(r: Record) -> None:
        seconds = "-" if r.seconds is None else f"{r.seconds:.3f}"
        first = "-" if r.first_seconds is None else f"{r.first_seconds:.3f}"
        known = r.peak_mib is not None and math.isfinite(r.peak_mib)
        peak = f"{r.peak_mib:,.0f}" if known else "-"
        ratio = (
            "-" if r.ratio is None else f"{r.ratio:,.1f}x" if r.ratio >= 0.1 else f"{r.ratio:.4f}x"
        )
        row = (
            r.family,
            f"{r.cells:,}",
            str(r.shops),
            r.solver,
            seconds,
            first,
            peak,
            "-" if r.objective is None else str(r.objective),
            ratio,
            r.note if r.status == "ok" else f"{r.status}: {r.note}",
        )
        add_plain_row(table, *row)
        err.print(
            f"  {r.family} {r.cells:,} cells x{r.shops}: {r.solver} {seconds} s", highlight=False
        )

    # omnistock's child is set up as any planner process is; the baselines' are not.
    setup = partial(prepare_process, read_settings())
    records = run_bench(
        family_list, size_list, shop_list, baseline_list, repeat, time_limit, seed, show, setup
    )
    out.print(table)
    if json_file is not None:
        text = json.dumps(as_json(records), indent=2, allow_nan=False)
        json_file.write_text(text + "\n", encoding="utf-8")
        out.print(f"records written to {json_file}")
    bad = [
        r
        for r in records
        if r.status in ("MISMATCH", "error") or (r.solver == "omnistock" and r.status != "ok")
    ]
    if bad:
        err.print(f"[bold red]{len(bad)} run(s) failed or disagree[/]")
        raise typer.Exit(1)
