"""`omnistock settle`: a brand's month settled from its files - platform order exports,
payment bills, warehouse records - into outcomes.csv, bill.json, bill.xlsx and
summary.json. Exit 0 when every record is accounted for, 2 on invalid input (every
problem listed with file, line and column), 5 when the re-check of the outcomes fails.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from engine.cli.common import err, fail
from engine.core.errors import KNOWN_ERRORS
from engine.settlement.carry import load_carry
from engine.settlement.contract import load_contract
from engine.settlement.control import ControlError
from engine.settlement.output import summary_document, write_settlement
from engine.settlement.settle import pool_document
from engine.settlement.settle import settle as settle_files


def settle(
    contract: Annotated[Path, typer.Option(help="the brand's contract (YAML)")],
    period: Annotated[str, typer.Option(help="the month settled, YYYY-MM")],
    orders: Annotated[list[Path], typer.Option(help="a platform order export (repeatable)")],
    payments: Annotated[
        list[Path], typer.Option(help="a payment bill: Alipay, WeChat Pay (repeatable)")
    ],
    warehouse: Annotated[
        list[Path], typer.Option(help="a warehouse in/out record file (repeatable)")
    ],
    out: Annotated[Path, typer.Option(help="where the outputs are written")] = Path("settlement"),
    carry: Annotated[
        Path | None,
        typer.Option(help="the previous run's pending pool: its carry.zip or its --out directory"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print summary.json")] = False,
) -> None:
    """Match a month's orders, payments and warehouse records; bill the brand."""
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
        import json

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
