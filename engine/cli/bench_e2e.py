"""`omnistock bench-e2e`: `omnistock plan` from process start to plan file written,
beside the planner's own compile + solve time, from one run per size."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from engine.bench.e2e import run_e2e
from engine.cli.common import add_plain_row

out = Console(width=120)


def bench_e2e(
    skus: Annotated[str, typer.Option(help="demo sizes in SKUs, e.g. 5000,50000")] = "5000",
    outputs: Annotated[
        str, typer.Option(help="plan file types: .json, .parquet, .ndjson")
    ] = ".json",
    work: Annotated[
        Path, typer.Option(help="where the demo data and plans are written (kept per size)")
    ] = Path("/tmp/omnistock-e2e"),
) -> None:
    """Time `omnistock plan` end to end on the demo, per size and plan file type."""
    table = Table(title="omnistock plan, end to end", title_justify="left")
    for col in ("SKUs", "cells", "output", "process s", "compile+solve s", "ratio", "peak MiB"):
        table.add_column(col, justify="left" if col == "output" else "right")
    for size in (int(s.replace("_", "")) for s in skus.split(",") if s.strip()):
        for suffix in (s.strip() for s in outputs.split(",") if s.strip()):
            r = run_e2e(size, work / f"demo-{size}", suffix)
            add_plain_row(
                table,
                f"{r.skus:,}",
                f"{r.cells:,}",
                r.output,
                f"{r.process_s:.2f}",
                f"{r.planner_s:.2f}",
                f"{r.ratio:.2f}x",
                f"{r.peak_mib:,.0f}",
            )
    out.print(table)
