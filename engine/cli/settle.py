"""`omnistock settle`: a brand's month settled from its files - platform order exports,
payment bills, warehouse records - into outcomes.csv, bill.json, bill.xlsx and
summary.json. Exit 0 when every record is accounted for, 2 on invalid input (every
problem listed with file, line and column), 5 when the re-check of the outcomes fails.

`omnistock settle bench`: a generated month of N orders, N bill rows and N warehouse
lines settled end to end, beside reading its files alone and beside a pandas
implementation of the same matching (engine/settlement/bench.py). Exit 1 when the two
matchings' outcome counts differ or a phase fails.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from engine.cli.common import add_plain_row, err, fail
from engine.core.errors import KNOWN_ERRORS, InputError, Issue
from engine.settlement.bench import BenchError, Result, run_bench
from engine.settlement.carry import load_carry
from engine.settlement.contract import load_contract
from engine.settlement.control import ControlError
from engine.settlement.output import summary_document, write_settlement
from engine.settlement.settle import pool_document
from engine.settlement.settle import settle as settle_files

settle = typer.Typer(add_completion=False)

# The bare run's options: required there, checked by hand (a group's own options cannot
# be required, or `settle bench` would ask for them too).
_REQUIRED = ("contract", "period", "orders", "payments", "warehouse")


def _check_run_options(ctx: typer.Context) -> None:
    """The bare run needs its five options; `settle bench` takes none of them. Errors
    as click words them for a required option (usage, then the message; exit 2)."""
    if ctx.invoked_subcommand is not None:
        given = [
            param.opts[0]
            for param in ctx.command.params
            if param.name is not None
            and (source := ctx.get_parameter_source(param.name)) is not None
            and source.name != "DEFAULT"
        ]
        if given:
            names = ", ".join(given)
            ctx.fail(
                f"{names}: option(s) of the bare `settle` run, not of "
                f"`settle {ctx.invoked_subcommand}`."
            )
        return
    for name in _REQUIRED:
        if not ctx.params.get(name):
            ctx.fail(f"Missing option '--{name}'.")


@settle.callback(invoke_without_command=True)
def run(
    ctx: typer.Context,
    contract: Annotated[
        Path | None, typer.Option(help="the brand's contract (YAML); required")
    ] = None,
    period: Annotated[str | None, typer.Option(help="the month settled, YYYY-MM; required")] = None,
    orders: Annotated[
        list[Path] | None,
        typer.Option(help="a platform order export (repeatable); required"),
    ] = None,
    payments: Annotated[
        list[Path] | None,
        typer.Option(help="a payment bill: Alipay, WeChat Pay (repeatable); required"),
    ] = None,
    warehouse: Annotated[
        list[Path] | None,
        typer.Option(help="a warehouse in/out record file (repeatable); required"),
    ] = None,
    out: Annotated[Path, typer.Option(help="where the outputs are written")] = Path("settlement"),
    carry: Annotated[
        Path | None,
        typer.Option(help="the previous run's pending pool: its carry.zip or its --out directory"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print summary.json")] = False,
) -> None:
    """Match a month's orders, payments and warehouse records; bill the brand.
    `settle bench`: the same on a generated month, timed beside pandas."""
    _check_run_options(ctx)
    if ctx.invoked_subcommand is not None:
        return
    # Checked above: present.
    assert contract and period and orders and payments and warehouse
    try:
        terms = load_contract(contract)
        pool_in = None if carry is None else load_carry(carry)
        done = settle_files(orders, payments, warehouse, terms, period, carry=pool_in)
        pool = pool_document(done)
        paths = write_settlement(
            done.bill, done.outcomes, done.control, out, done.carry, pool, done.daily
        )
    except ControlError as error:
        err.print(f"the re-check failed: {error}", highlight=False)
        raise typer.Exit(5) from None
    except KNOWN_ERRORS as error:
        fail(error)
    if as_json:
        summary = summary_document(done.bill, done.outcomes, done.control, pool)
        sys.stdout.write(json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
        return
    counts = done.outcomes.group_by("outcome").len().sort("outcome")
    for outcome, count in counts.iter_rows():
        typer.echo(f"{outcome:<18} {count}")
    bill = done.bill
    typer.echo(f"bill {bill.brand} {bill.period}: fee {bill.fee_fen / 100:.2f}")
    carried, held = sum(done.carried.values()), sum(done.carry.counts.values())
    typer.echo(f"pending pool: {carried} record(s) carried in, {held} held for the next run")
    for path in paths:
        typer.echo(f"wrote {path}")


@settle.command("bench")
def bench(
    orders: Annotated[
        int,
        typer.Option(min=1000, help="orders generated; as many bill rows and warehouse lines"),
    ] = 1_000_000,
    seed: Annotated[int, typer.Option(help="the generator's seed (same seed, same files)")] = 7,
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="keep the files here (default: a temporary directory)"),
    ] = None,
    no_pandas: Annotated[
        bool, typer.Option("--no-pandas", help="skip the pandas baseline")
    ] = False,
    json_file: Annotated[Path | None, typer.Option("--json", help="write the records here")] = None,
) -> None:
    """Settle a generated month of N orders, N bill rows and N warehouse lines; time it
    beside reading the files alone and beside pandas (exit 1 if their counts differ)."""
    if directory is not None and directory.exists() and not directory.is_dir():
        fail(InputError([Issue("--dir", f"{directory} is a file, not a directory")]))
    if not no_pandas and importlib.util.find_spec("pandas") is None:
        message = "pandas is not installed: pip install 'omnistock[bench]', or pass --no-pandas"
        fail(InputError([Issue("--no-pandas", message)]))
    note = Console(stderr=True)
    try:
        result = run_bench(
            orders,
            seed,
            directory,
            with_pandas=not no_pandas,
            progress=lambda line: note.print(f"[dim]{line}[/]", highlight=False),
        )
    except BenchError as error:
        err.print(f"[bold red]error:[/] the bench failed: {error}", highlight=False)
        raise typer.Exit(1) from None
    _print(result)
    if json_file is not None:
        json_file.write_text(json.dumps(result.as_json(), indent=2) + "\n", encoding="utf-8")
    if not result.counts_equal:
        err.print("[bold red]error:[/] the outcome counts differ between the matchings")
        raise typer.Exit(1)


_PHASE_NAMES = {
    "read": "read the files alone",
    "match": "omnistock matching (the frames read)",
    "settle": "omnistock settle end to end",
    "write": "  writing the outputs",
    "pandas load": "pandas: load the same frames",
    "pandas match": "pandas matching",
}


def _print(result: Result) -> None:
    out = Console(width=120)  # wide enough for the tables in logs and pipes
    where = f" in {result.directory}" if result.directory else ""
    out.print(f"settle bench: {result.orders:,} orders, seed {result.seed}{where}")
    files = Table("file", "rows", "MB", title="files generated", title_justify="left")
    for name, figures in result.files.items():
        add_plain_row(files, name, f"{int(figures['rows']):,}", f"{figures['mb']:,.1f}")
    out.print(files)
    out.print(f"generated in {result.generate_seconds:.1f} s (not timed against anything)")
    phases = Table("phase", "seconds", "peak MiB", "what", title="timed", title_justify="left")
    for phase in result.phases:
        add_plain_row(
            phases,
            _PHASE_NAMES.get(phase.name, phase.name),
            f"{phase.seconds:.2f}",
            f"{phase.peak_mib:,.0f}",
            phase.note,
        )
    out.print(phases)
    for name, ratio in result.ratios.items():
        out.print(f"ratio {name}: {ratio:.2f}x", highlight=False)
    settled = result.phase("settle")
    for name, passed in result.targets.items():
        verdict = "[green]pass[/]" if passed else "[bold red]fail[/]"
        out.print(
            f"target {name} (settle end to end: {settled.seconds:.1f} s, "
            f"{settled.peak_mib:,.0f} MiB): {verdict}",
            highlight=False,
        )
    engines = list(result.counts)
    counts = Table("source/outcome", *engines, title="outcome counts", title_justify="left")
    for key in sorted(set().union(*(one.keys() for one in result.counts.values()))):
        add_plain_row(counts, key, *(f"{result.counts[e].get(key, 0):,}" for e in engines))
    out.print(counts)
    total = sum(result.counts["omnistock"].values())
    if result.counts_equal:
        out.print(f"outcome counts equal between {', '.join(engines)}: {total:,} records")
    else:
        out.print("[bold red]outcome counts differ[/]")
    start, end = result.load_average["start"], result.load_average["end"]
    out.print(f"load average (1 min) at start {start[0]:.2f}, at end {end[0]:.2f}")
