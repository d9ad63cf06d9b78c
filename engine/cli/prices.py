"""`omnistock prices check|bench`: the price guard - the lowest price a buyer can reach
for each SKU on each shop when the shop's promotions stack, against the SKU's floor.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from engine.cli.catalog import DEFAULT_TENANT, author, open_catalog, print_json, read_document
from engine.cli.common import EXIT_INPUT, add_plain_row, err, fail
from engine.core.errors import KNOWN_ERRORS, InputError, Issue
from engine.services import prices as service

prices = typer.Typer(help="The price guard: check floors, benchmark.", no_args_is_help=True)
out = Console()


def _instant(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InputError([Issue("--at", f"not an ISO 8601 instant: {text!r}")]) from None
    if when.tzinfo is None:
        raise InputError([Issue("--at", "needs a time zone, such as +08:00")])
    return when


@prices.command()
def check(
    policy: Annotated[
        Path | None,
        typer.Option(help="a price policy file (YAML/JSON): stored as a new version first"),
    ] = None,
    listed: Annotated[
        Path | None,
        typer.Option(help="CSV sku,shop,price: the prices the shops list (read back)"),
    ] = None,
    at: Annotated[
        str | None, typer.Option(help="the instant promotions are active at (ISO 8601)")
    ] = None,
    tenant: Annotated[str, typer.Option(help="the tenant")] = DEFAULT_TENANT,
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout")] = False,
) -> None:
    """Guard every SKU on every shop of its brand; exit code 1 when a SKU breaks its floor."""
    try:
        catalog = open_catalog()
        when = _instant(at)
        prices_listed = service.read_listed(listed) if listed is not None else None
        if policy is not None:
            doc = read_document(policy)
            result = service.put_policy(
                catalog, tenant, doc, author(), str(policy), when, prices_listed
            )
        else:
            result = service.run_check(catalog, tenant, "cli", when, prices_listed)
    except KNOWN_ERRORS as error:
        fail(error)
    if as_json:
        print_json(result)
    else:
        _show(result)
    if result["summary"].get("breach", 0):
        raise typer.Exit(1)


def _show(result: dict[str, Any]) -> None:
    summary = result["summary"]
    out.print(
        f"price check {result['id']} at {result['at']} (policy v{result['policy_version']}, "
        f"{result['prices']} prices): {summary['rows']} SKU-shops - {summary['ok']} ok, "
        f"{summary['breach']} below floor, {summary['may_breach']} may go below, "
        f"{summary['unguarded']} without a floor",
        highlight=False,
    )
    if result["breaches"]:
        table = Table("SKU", "shop", "base", "floor", "lowest", "status", "how")
        for row in result["breaches"][:50]:
            how = " -> ".join(f"{s['promotion']} {s['price']}" for s in row["steps"])
            basket = row["basket"]
            if basket["filler"]:
                how += f" (with {basket['filler_qty']} x {basket['filler']})"
            add_plain_row(
                table, row["sku"], row["shop"], row["base"], row["floor"] or "-",
                row["lowest"], row["status"], how,
            )  # fmt: skip
        out.print(table)
        if len(result["breaches"]) > 50:
            err.print(f"... and {len(result['breaches']) - 50} more (--json lists all)")
    for warning in result["warnings"]:
        err.print(f"warning: {warning}", highlight=False, soft_wrap=True)


@prices.command()
def bench(
    skus: Annotated[int, typer.Option(min=1, help="SKUs")] = 50_000,
    shops: Annotated[int, typer.Option(min=1, help="shops")] = 10,
    promotions: Annotated[int, typer.Option(min=1, help="promotions per shop")] = 20,
    seed: Annotated[int, typer.Option(help="the instance's seed")] = 0,
) -> None:
    """Time the guard on a generated catalog (SKUs x shops x promotions per shop)."""
    from engine.catalog.prices.bench import bench as run

    if skus * shops > 50_000_000:
        err.print("error: at most 50,000,000 SKU-shops", highlight=False)
        raise typer.Exit(EXIT_INPUT)
    result = run(skus, shops, promotions, seed)
    out.print(
        f"price guard: {skus:,} SKUs x {shops} shops x {promotions} promotions = "
        f"{result.sku_shops:,} SKU-shops in {result.seconds:.2f} s "
        f"({result.us_per_sku_shop:.1f} us per SKU-shop); {result.breaches:,} below floor, "
        f"{result.may_breach:,} may go below",
        highlight=False,
    )
