"""`omnistock forecast`: demand per (SKU, shop) from a snapshot's sales history, and the
estimator's benchmark.

    omnistock forecast SNAPSHOT [-o estimates.json|.csv] [--sku SKU]
    omnistock forecast bench --cells 1000000 --days 90
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from engine.cli.common import add_plain_row, fail
from engine.core.errors import KNOWN_ERRORS, InputError, Issue
from engine.core.files import write_atomically
from engine.core.index import SnapshotIndex
from engine.core.io import load_snapshot_columns
from engine.demand.cells import SOURCES, Forecast, forecast
from engine.demand.estimate import EstimatorSettings

if TYPE_CHECKING:
    from engine.planning.explain import CellDemand

out = Console(width=140)
TOP = 20  # cells shown in the table
BUDGET_S = 5.0  # the issue's bound for 1M cells x 90 days


class SnapshotByDefault(TyperGroup):
    """`forecast FILE ...` runs the `snapshot` command; `forecast bench ...` the bench."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["snapshot", *args]
        return list(super().parse_args(ctx, args))


forecast_app = typer.Typer(
    cls=SnapshotByDefault,
    add_completion=False,
    no_args_is_help=True,
    help="Demand per (SKU, shop) from sales history: `forecast SNAPSHOT`, `forecast bench`.",
)


def _settings(half_life: float, prior_days: float | None) -> EstimatorSettings:
    try:
        return EstimatorSettings(half_life_days=half_life, prior_days=prior_days)
    except ValueError as error:
        fail(InputError([Issue("--half-life/--prior-days", str(error))]))


@forecast_app.command("snapshot")
def snapshot_command(
    snapshot: Annotated[Path, typer.Argument(help="snapshot file (.json/.yaml) with history")],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="write the estimates per cell: .json or .csv"),
    ] = None,
    sku: Annotated[str | None, typer.Option(help="show this SKU's cells in full")] = None,
    half_life: Annotated[
        float, typer.Option(help="days for a day's weight to halve (inf: all equal)")
    ] = 28.0,
    prior_days: Annotated[
        float | None, typer.Option(help="shrinkage strength in days (default: fitted)")
    ] = None,
) -> None:
    """Estimate every cell's demand from the snapshot's history (velocity rows win for
    their cells), print the top cells and a summary, and write the estimates."""
    if output is not None and output.suffix.lower() not in (".json", ".csv"):
        fail(InputError([Issue("--output", "use a .json or .csv file")]))
    settings = _settings(half_life, prior_days)
    try:
        index = SnapshotIndex.of_columns(load_snapshot_columns(snapshot))
        made = forecast(index, settings)
        story = None
        if sku is not None:
            from engine.planning.explain import explain_demand

            story = explain_demand(index, sku, made)
    except KNOWN_ERRORS as error:
        fail(error)
    _print_summary(index, made)
    if story is not None:
        out.print(demand_table(f"{sku}: demand in units a day", story))
    if output is not None:
        columns = _columns(index, made)
        if output.suffix.lower() == ".json":
            _write_json(output, index, made, columns)
        else:
            _write_csv(output, columns)
        out.print(f"wrote {len(columns['sku']):,} estimates to {escape(str(output))}")


def demand_table(title: str, story: list[CellDemand]) -> Table:
    """A SKU's cells: their history in brief and the demand estimate a plan uses."""
    table = Table(title=title, title_justify="left")
    # Short headers: the table fits an 80-column terminal ("out": days sold out, whose
    # sales only bound demand; "naive": the 14-day average; rates in units a day).
    for col in ("shop", "days", "sold", "out", "naive", "rate", "sd", "size"):
        table.add_column(col, justify="left" if col == "shop" else "right")
    table.add_column("source")
    for c in story:
        add_plain_row(
            table,
            c.shop,
            str(c.history_days),
            str(c.units_sold),
            str(c.censored_days),
            f"{c.naive_rate:.3f}",
            f"{c.rate:.3f}",
            f"{c.rate_sd:.3f}",
            _size(c.dispersion),
            c.source,
        )
    return table


def _size(value: float) -> str:
    return "inf" if not np.isfinite(value) else f"{value:.2f}"


def _print_summary(index: SnapshotIndex, made: Forecast) -> None:
    counts = np.bincount(made.source, minlength=len(SOURCES))
    by_source = ", ".join(f"{n:,} {name}" for name, n in zip(SOURCES, counts, strict=True) if n)
    days = index.history.n_days if index.history is not None else 0
    out.print(
        f"[bold]{index.n_cells:,} cells[/] ({index.n_skus:,} SKUs x {index.n_shops} shops): "
        f"{by_source}; history of {days} days"
    )
    with_days = made.history_days > 0
    if with_days.any():
        censored = made.censored_days[with_days].sum() / made.history_days[with_days].sum()
        out.print(
            f"censored (sold out) days: {censored:.1%} of the days covered; "
            f"prior strength {made.prior_days:.2f} days; "
            f"total rate {made.rate.sum():,.1f} units/day "
            f"(naive 14-day average: {made.naive.sum():,.1f})"
        )
    top = np.argsort(-made.rate, kind="stable")[:TOP]
    table = Table(title=f"top {len(top)} cells by rate", title_justify="left")
    for col in ("sku", "shop", "rate/day", "sd", "size", "days", "censored", "naive/day"):
        table.add_column(col, justify="left" if col in ("sku", "shop") else "right")
    table.add_column("source")
    for c in top:
        add_plain_row(
            table,
            index.sku_ids[int(index.cell_sku[c])],
            index.shop_ids[int(index.cell_shop[c])],
            f"{made.rate[c]:.3f}",
            f"{made.rate_sd[c]:.3f}",
            _size(float(made.dispersion[c])),
            str(made.history_days[c]),
            str(made.censored_days[c]),
            f"{made.naive[c]:.3f}",
            SOURCES[int(made.source[c])],
        )
    out.print(table)


def _columns(index: SnapshotIndex, made: Forecast) -> dict[str, list[Any]]:
    """The estimates per cell (cells in SKU then shop rank order), as columns."""
    sku_ids = np.array(index.sku_ids, dtype=object)
    shop_ids = np.array(index.shop_ids, dtype=object)
    size = made.dispersion
    return {
        "sku": sku_ids[index.cell_sku].tolist(),
        "shop": shop_ids[index.cell_shop].tolist(),
        "rate": made.rate.tolist(),
        "sd": made.rate_sd.tolist(),
        # JSON has no infinity: a Poisson cell's size is written as null (CSV: inf).
        "dispersion": np.where(np.isfinite(size), size, np.nan).tolist(),
        "observed_days": made.observed_days.tolist(),
        "censored_days": made.censored_days.tolist(),
        "source": np.array(SOURCES, dtype=object)[made.source].tolist(),
    }


def _write_json(path: Path, index: SnapshotIndex, made: Forecast, columns: dict[str, Any]) -> None:
    names = list(columns)
    rows = [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]
    for row in rows:
        if row["dispersion"] != row["dispersion"]:  # NaN: Poisson
            row["dispersion"] = None
    document = {"as_of": index.as_of.isoformat(), "prior_days": made.prior_days, "cells": rows}
    write_atomically(path, orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")


def _write_csv(path: Path, columns: dict[str, list[Any]]) -> None:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(list(columns))
    dispersion = ["inf" if v != v else v for v in columns["dispersion"]]
    writer.writerows(zip(*{**columns, "dispersion": dispersion}.values(), strict=True))
    write_atomically(path, text.getvalue())


@forecast_app.command("bench")
def bench_command(
    cells: Annotated[
        int, typer.Option(min=1000, max=20_000_000, help="cells simulated")
    ] = 1_000_000,
    days: Annotated[int, typer.Option(min=1, max=366, help="days of history")] = 90,
    seed: Annotated[int, typer.Option(help="the simulation's seed")] = 0,
) -> None:
    """Time the estimator on a simulated history beside the naive average (same run),
    and its accuracy against the simulation's known rates."""
    from engine.demand.bench import run_bench

    report = run_bench(cells, days, seed)
    load = os.getloadavg()
    out.print(
        f"[bold]{report.cells:,} cells x {report.days} days[/] (censored days "
        f"{report.censored_share:.1%}; fitted prior {report.prior_days:.2f} days); "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    base = report.timings[0]
    times = Table(title="time", title_justify="left")
    for col in ("method", "wall s", "CPU s", "CPU x naive"):
        times.add_column(col, justify="left" if col == "method" else "right")
    for t in report.timings:
        ratio = t.cpu_s / base.cpu_s if base.cpu_s > 0 else float("nan")
        add_plain_row(times, t.name, f"{t.wall_s:.3f}", f"{t.cpu_s:.3f}", f"{ratio:.1f}")
    out.print(times)
    for label, rows in report.accuracy.items():
        table = Table(title=f"accuracy, {label} of history", title_justify="left")
        for col in ("method", "MAE", "MAE rate >= 1", "MAE rate < 0.2", "x naive"):
            table.add_column(col, justify="left" if col == "method" else "right")
        for a in rows:
            add_plain_row(
                table,
                a.name,
                f"{a.mae:.4f}",
                f"{a.mae_rich:.4f}",
                f"{a.mae_sparse:.4f}",
                f"{a.mae / rows[0].mae:.2f}",
            )
        out.print(table)
    full = report.timings[-1]
    verdict = "within" if full.cpu_s < BUDGET_S else "OVER"
    out.print(f"full estimator: {full.cpu_s:.2f} s CPU, {verdict} the {BUDGET_S:.0f} s budget")
