"""`omnistock rank`, `select` and `check`: shelf ranking, product selection and the
two-way stock check, in the plan's style (tables by default, `--json` for the data).

Exit codes as `omnistock plan`: 2 invalid input, 3 shelf rules that cannot all hold,
4 solver failure; `check --fail-on SEVERITY` exits 1 when a warning reaches it.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Any, cast

import typer
import yaml
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from engine.checks.findings import CheckThresholds, Severity, StockWarning, at_least
from engine.checks.two_way import check_stock
from engine.cli.common import add_plain_row, fail
from engine.core.errors import KNOWN_ERRORS, InputError, Issue
from engine.core.io import dump_json, load_plan, load_snapshot, pydantic_issues, read_document
from engine.shelf.backends import ShelfSolver
from engine.shelf.from_plan import selection_from_plan, shelf_from_plan
from engine.shelf.inputs import ShelfRules, parse_shelf_input, with_rules
from engine.shelf.rank import Ranking
from engine.shelf.rank import rank as rank_shelf
from engine.shelf.selection import Selection, parse_selection_input
from engine.shelf.selection import select as select_products

out = Console()

EXIT_WARNED = 1  # check --fail-on: warnings at or above the level

FileArg = Annotated[
    Path | None, typer.Argument(help="an input file (.json/.yaml); or use --snapshot/--plan")
]
SnapshotOpt = Annotated[Path | None, typer.Option("--snapshot", help="snapshot file")]
PlanOpt = Annotated[Path | None, typer.Option("--plan", help="plan file (omnistock plan -o)")]
ShopOpt = Annotated[str | None, typer.Option("--shop", help="the shop, with --snapshot")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print the result as JSON")]


def _pair(text: str, option: str, what: str) -> tuple[float, int]:
    """'3:10' -> (3.0, 10): a number in the top N slots."""
    head, sep, tail = text.partition(":")
    try:
        number, top = float(head), int(tail)
    except ValueError:
        number, top = -1.0, 0
    if not sep or number < 0 or top < 1:
        raise InputError([Issue(option, f"expected {what}:TOP such as 3:10, got {text!r}")])
    return number, top


def _rules(
    base: ShelfRules, pins: list[str], limits: list[str], cover: str | None, extra: dict[str, Any]
) -> ShelfRules:
    """The file's rules with the command line's added on top."""
    data = base.model_dump(mode="json", exclude_unset=True)
    for pin in pins:
        product, _, slot = pin.rpartition(":")
        if not product or not slot.isdigit():
            raise InputError(
                [Issue("--pin", f"expected PRODUCT:SLOT such as B1-0001:1, got {pin!r}")]
            )
        data.setdefault("pins", {})[product] = int(slot)
    for text in limits:
        most, top = _pair(text, "--category-limit", "MAX")
        data.setdefault("category_limits", []).append({"max": int(most), "top": top})
    if cover is not None:
        days, top = _pair(cover, "--min-cover", "DAYS")
        data["min_cover"] = {"days": days, "top": top}
    data.update({k: v for k, v in extra.items() if v is not None})
    try:
        return ShelfRules.model_validate(data)
    except ValidationError as error:
        raise InputError(pydantic_issues(error, "rules")) from None


def _source(file: Path | None, snapshot: Path | None, plan: Path | None, shop: str | None) -> str:
    if file is not None and snapshot is None and plan is None:
        return "file"
    if file is None and snapshot is not None and plan is not None and shop is not None:
        return "plan"
    message = "give an input file, or --snapshot, --plan and --shop"
    raise InputError([Issue("", message)])


def rank(
    file: FileArg = None,
    snapshot: SnapshotOpt = None,
    plan: PlanOpt = None,
    shop: ShopOpt = None,
    slots: Annotated[int, typer.Option(help="slots to rank, with --snapshot")] = 20,
    pin: Annotated[list[str] | None, typer.Option(help="PRODUCT:SLOT, repeatable")] = None,
    category_limit: Annotated[
        list[str] | None, typer.Option(help="MAX:TOP: at most MAX per category in the top TOP")
    ] = None,
    min_cover: Annotated[
        str | None, typer.Option(help="DAYS:TOP: at least DAYS of cover in the top TOP")
    ] = None,
    new_boost: Annotated[
        float | None, typer.Option(help="value multiplier for new products")
    ] = None,
    horizon: Annotated[float | None, typer.Option(help="days the objective looks ahead")] = None,
    solver: Annotated[ShelfSolver | None, typer.Option(help="force a solver")] = None,
    time_limit: Annotated[float, typer.Option(help="wall-clock limit, seconds")] = 60.0,
    write_input: Annotated[
        Path | None, typer.Option(help="also write the ranking input built (YAML/JSON by suffix)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Rank a shop's shelf: the order, each product's move and its reason."""
    try:
        if _source(file, snapshot, plan, shop) == "file":
            assert file is not None
            shelf = parse_shelf_input(read_document(file), str(file))
        else:
            assert snapshot is not None and plan is not None and shop is not None
            shelf = shelf_from_plan(load_snapshot(snapshot), load_plan(plan), shop, slots)
        extra = {"new_boost": new_boost, "horizon_days": horizon}
        rules = _rules(shelf.rules, pin or [], category_limit or [], min_cover, extra)
        shelf = with_rules(shelf, rules)
        if write_input is not None:
            _write(shelf, write_input)
        result = rank_shelf(shelf, solver, time_limit)
    except KNOWN_ERRORS as error:
        fail(error)
        return
    if as_json:
        sys.stdout.write(dump_json(result))
    else:
        _print_ranking(result)


def _write(model: BaseModel, path: Path) -> None:
    data = model.model_dump(mode="json", exclude_unset=True)
    if path.suffix.lower() in (".yaml", ".yml"):
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    else:
        dump_json(data, path)


def _print_ranking(r: Ranking) -> None:
    out.print(
        f"[bold]{escape(r.shop)}[/]  solver {r.solver}  {r.slots} slots from {r.candidates}"
        " products"
        f"  expected sales {r.expected_sales:,.2f} over {r.horizon_days:g} days",
        highlight=False,
    )
    timing = "  ".join(f"{k} {v:.3f}s" for k, v in r.timing.items())
    out.print(
        f"objective {r.objective:,.2f}  timing: {timing}  {'; '.join(r.notes)}",
        highlight=False,
        markup=False,
    )
    table = Table()
    for col in ("slot", "product", "move", "units/day", "cover (days)", "reason"):
        table.add_column(
            col, justify="right" if col in ("slot", "units/day", "cover (days)") else "left"
        )
    for m in r.moves:
        cover = "-" if m.days_of_cover is None else f"{m.days_of_cover:.1f}"
        slot = "-" if m.slot is None else str(m.slot)
        add_plain_row(table, slot, m.product, m.move, f"{m.units_per_day:.2f}", cover, m.reason)
    out.print(table)


def select(
    file: FileArg = None,
    snapshot: SnapshotOpt = None,
    plan: PlanOpt = None,
    shop: ShopOpt = None,
    limit: Annotated[
        int | None, typer.Option(help="the shop's listing limit (default: its listings + 10)")
    ] = None,
    max_per_category: Annotated[
        int | None, typer.Option(help="at most this many new listings per category")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Which products a shop should list next, each with its reason and units per day."""
    try:
        if _source(file, snapshot, plan, shop) == "file":
            assert file is not None
            selection_input = parse_selection_input(read_document(file), str(file))
        else:
            assert snapshot is not None and plan is not None and shop is not None
            selection_input = selection_from_plan(
                load_snapshot(snapshot), load_plan(plan), shop, limit, max_per_category
            )
        result = select_products(selection_input)
    except KNOWN_ERRORS as error:
        fail(error)
        return
    if as_json:
        sys.stdout.write(dump_json(result))
    else:
        _print_selection(result)


def _print_selection(s: Selection) -> None:
    out.print(
        f"[bold]{escape(s.shop)}[/]  room for {s.room} listing(s)  {s.candidates} candidates",
        highlight=False,
    )
    table = Table()
    for col in ("#", "product", "category", "units/day", "value/day", "stock", "reason"):
        table.add_column(col)
    for p in s.picks:
        add_plain_row(
            table,
            str(p.rank),
            p.product,
            p.category,
            f"{p.units_per_day:.2f}",
            f"{p.value_per_day:,.2f}",
            str(p.stock),
            p.reason,
        )
    out.print(table)
    for line in s.held_back:
        out.print(f"held back {line}", highlight=False, markup=False)


def check(
    snapshot: Annotated[Path, typer.Argument(help="snapshot file: listings, stock, velocity")],
    plan: PlanOpt = None,
    drift_units: Annotated[int, typer.Option(help="drift below the plan ignored up to")] = 5,
    drift_share: Annotated[float, typer.Option(help="... or up to this share of the plan")] = 0.2,
    fail_on: Annotated[
        str | None, typer.Option(help="exit 1 if a warning is at least: high, medium, low")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The two-way check: listed vs the published plan vs available stock."""
    try:
        if fail_on not in (None, "high", "medium", "low"):
            raise InputError([Issue("--fail-on", f"must be high, medium or low, got {fail_on!r}")])
        try:
            limits = CheckThresholds(drift_units=drift_units, drift_share=drift_share)
        except ValidationError as error:
            raise InputError(pydantic_issues(error, "--")) from None
        snap = load_snapshot(snapshot)
        warnings = check_stock(snap, load_plan(plan) if plan is not None else None, limits)
    except KNOWN_ERRORS as error:
        fail(error)
        return
    if as_json:
        sys.stdout.write(dump_json(warnings))
    else:
        _print_warnings(warnings)
    if fail_on is not None and at_least(warnings, cast(Severity, fail_on)):
        raise typer.Exit(EXIT_WARNED)


SHOWN_WARNINGS = 30


def _print_warnings(warnings: list[StockWarning]) -> None:
    if not warnings:
        out.print("no warnings: listings, plan and stock agree")
        return
    counts = Counter((w.severity, w.code) for w in warnings)
    summary = Table(title="warnings", title_justify="left")
    for col in ("severity", "warning", "count"):
        summary.add_column(col, justify="right" if col == "count" else "left")
    for (severity, code), count in counts.most_common():
        add_plain_row(summary, severity, code, f"{count:,}")
    out.print(summary)
    table = Table()
    for col in ("severity", "warning", "SKU", "shop", "message", "fix"):
        table.add_column(col)
    for w in warnings[:SHOWN_WARNINGS]:
        add_plain_row(table, w.severity, w.code, w.sku, w.shop or "-", w.message, w.fix)
    out.print(table)
    if len(warnings) > SHOWN_WARNINGS:
        out.print(f"... and {len(warnings) - SHOWN_WARNINGS:,} more (--json lists them all)")
