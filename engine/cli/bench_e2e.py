"""`omnistock bench-e2e`: `omnistock plan` from process start to plan file written,
beside the planner's own compile + solve time (warm), from one run per size."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from engine.bench.e2e import (
    byte_compile,
    median_run,
    run_e2e,
    run_stages,
    warm_planner_seconds,
)
from engine.cli.common import add_plain_row

out = Console(width=200)


def bench_e2e(
    skus: Annotated[str, typer.Option(help="demo sizes in SKUs, e.g. 5000,50000")] = "5000",
    outputs: Annotated[
        str, typer.Option(help="plan file types: .json, .parquet, .ndjson")
    ] = ".json",
    work: Annotated[
        Path, typer.Option(help="where the demo data and plans are written (kept per size)")
    ] = Path("/tmp/omnistock-e2e"),
    stages: Annotated[
        bool, typer.Option("--stages", help="also time each stage, per size (wall/CPU s)")
    ] = False,
    repeat: Annotated[
        int,
        typer.Option(min=1, help="runs per size and type; the one of median ratio is shown"),
    ] = 1,
) -> None:
    """Time `omnistock plan` end to end on the demo, per size and plan file type, beside
    the planner's compile + solve (and a warm planner's) and the floor: a process that
    only imports the libraries a plan cannot run without."""
    table = Table(title="omnistock plan, end to end", title_justify="left")
    columns = ("SKUs", "cells", "output", "process s", "process CPU s")
    solving = ("compile+solve s", "warm compile+solve s")
    for col in (*columns, *solving, "ratio", "floor s", "ratio above floor", "peak MiB"):
        table.add_column(col, justify="left" if col == "output" else "right")
    byte_compile()
    for size in _sizes(skus):
        directory = work / f"demo-{size}"
        warm = warm_planner_seconds(size, directory, runs=max(3, repeat))
        for suffix in (s.strip() for s in outputs.split(",") if s.strip()):
            r = median_run(
                [run_e2e(size, directory, suffix, warm_planner_s=warm) for _ in range(repeat)]
            )
            add_plain_row(
                table,
                f"{r.skus:,}",
                f"{r.cells:,}",
                r.output,
                f"{r.process_s:.2f}",
                f"{r.process_cpu_s:.2f}",
                f"{r.planner_s:.2f}",
                f"{r.warm_planner_s:.2f}",
                f"{r.ratio:.2f}x",
                f"{r.floor_s:.2f}",
                f"{r.ratio_above_floor:.2f}x",
                f"{r.peak_mib:,.0f}",
            )
    out.print(table)
    if stages:
        out.print(_stage_table(skus, work))


def _stage_table(skus: str, work: Path) -> Table:
    """One row per size: each stage's wall and CPU seconds, from one new process."""
    rows = {size: run_stages(size, work / f"demo-{size}") for size in _sizes(skus)}
    table = Table(title="omnistock plan, stage by stage (wall s / CPU s)", title_justify="left")
    table.add_column("SKUs", justify="right")
    names = list(next(iter(rows.values()), {}))
    for name in names:
        table.add_column(name, justify="right")
    for size, times in rows.items():
        cells = [f"{times[n][0]:.2f} / {times[n][1]:.2f}" for n in names]
        add_plain_row(table, f"{size:,}", *cells)
    return table


def _sizes(skus: str) -> list[int]:
    return [int(s.replace("_", "")) for s in skus.split(",") if s.strip()]
