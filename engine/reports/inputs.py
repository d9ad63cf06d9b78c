"""What a brand's report is computed from, gathered as of the window's end.

`ReportInputs` holds arrays, not rows: sales, listing state and stock per SKU, shop and
day of the window, the plans published for it, the settlement run of its month, the
latest price check and what the platforms listed at the end. `inputs_of` makes them from
a snapshot and the documents beside it (the demo calls it with data drawn in-process);
`gather` reads those documents from a tenant's store and databases.

Where each part comes from:
- sales and listing state: the snapshot's `history` (the agency's per SKU, shop and day
  sales feed); a day is *out of stock* on a shop when the row flags it or lists 0;
- stock: the physical units the scenarios' pool derivation counts (engine/scenarios/
  stock.py `derive_supply` under the tenant's ruleset) at the snapshot's as_of; the
  stock at the end of an earlier day is that plus what sold after it (the feed holds
  no arrivals, so none are assumed);
- listings at the end: the snapshot's `listed` rows (what the platforms showed).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal, cast

import numpy as np
from numpy.typing import NDArray

from engine.catalog.store import CatalogStore
from engine.core.index import SnapshotIndex
from engine.core.io import parse_snapshot
from engine.core.snapshot import Snapshot
from engine.reports.errors import UnknownBrand, check_window
from engine.scenarios.stock import derive_supply
from engine.settlement.runstore import RunStatus, SettlementStore
from engine.store.base import Store, plan_quantities, plan_shared
from engine.store.errors import NotFound
from rules.catalog import Ruleset
from rules.load import parse_ruleset

__all__ = [
    "CompletenessInput",
    "PlanInput",
    "PriceCheckInput",
    "ReportInputs",
    "ReportKind",
    "SettlementInput",
    "brand_breaches",
    "catalog_inputs",
    "completeness_by_platform",
    "gather",
    "inputs_of",
    "months",
    "plan_input",
    "published_plan_ids",
    "stored_settlements",
    "window_end",
]

I64 = NDArray[np.int64]
# The publish route as the audit log names it (api/routes/publishing.py, under /v1).
PUBLISH_ROUTE = "/plans/{plan_id}/publish"
Mask = NDArray[np.bool_]
ReportKind = Literal["campaign", "monthly"]


@dataclass(frozen=True)
class PlanInput:
    """A plan published for the window: per SKU and shop of the brand, the units it
    listed on the shop (its own quantity plus the SKU's shared part where the shop
    shows it)."""

    plan_id: str
    listed: I64  # [skus, shops]


@dataclass(frozen=True)
class SettlementInput:
    """A done settlement run of the brand for a month the window touches: its bill
    document (engine/settlement/output.py bill_document, what GET .../bill returns) and
    its outcome counts (the summary's `outcomes`)."""

    run_id: str
    period: str
    bill: dict[str, Any]
    outcomes: dict[str, int]


@dataclass(frozen=True)
class PriceCheckInput:
    """The price guard's newest check, its breaches cut to the brand (as GET
    /v1/prices/checks/latest answers a brand viewer)."""

    check_id: str
    at: str
    breaches: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class CompletenessInput:
    """The brand's products on one platform of its shops: how many were checked against
    the platform's requirements, how many are ready to list, the mean score (what GET
    /v1/catalog/completeness sums per platform)."""

    platform: str
    products: int
    ready: int
    mean_score: float


def completeness_by_platform(
    checks: Iterable[tuple[str, bool, float]],
) -> tuple[CompletenessInput, ...]:
    """Per platform, from (platform, ready, score) of each product checked."""
    per: dict[str, list[tuple[bool, float]]] = {}
    for platform, ready, score in checks:
        per.setdefault(platform, []).append((ready, score))
    return tuple(
        CompletenessInput(
            platform,
            len(mine),
            sum(ready for ready, _ in mine),
            round(sum(score for _, score in mine) / len(mine), 4),
        )
        for platform, mine in sorted(per.items())
    )


@dataclass(frozen=True)
class ReportInputs:
    """Everything a report of `brand` over `start`..`end` is computed from."""

    tenant: str
    brand: str
    brand_name: str
    kind: ReportKind
    start: date
    end: date
    # The window's end (the first instant after its last day), or the snapshot's as_of
    # if that is earlier: the moment the figures are of.
    as_of: datetime
    skus: tuple[str, ...]  # the brand's SKUs, in the snapshot's order
    categories: tuple[str, ...]  # [skus]
    price_fen: I64  # [skus] the SKU's price in whole fen
    shops: tuple[str, ...]  # the brand's shops, by priority then id (the scenarios' order)
    units: I64  # [skus, shops, days] units sold
    listed: I64  # [skus, shops, days] units listed that day; -1 where the feed says not
    out_of_stock: Mask  # [skus, shops, days] listed at 0 (or flagged out of stock)
    covered: Mask  # [skus, shops, days] the feed has a row for the day
    stock_end: I64  # [skus, days] physical units at the end of each day
    listed_end: I64  # [skus, shops] units listed at the end (the snapshot's `listed`)
    plans: tuple[PlanInput, ...] = ()
    settlements: tuple[SettlementInput, ...] = ()
    prices: PriceCheckInput | None = None
    completeness: tuple[CompletenessInput, ...] = ()
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def days(self) -> tuple[date, ...]:
        return tuple(
            self.start + timedelta(days=d) for d in range((self.end - self.start).days + 1)
        )


def window_end(end: date, like: datetime) -> datetime:
    """The first instant after the window's last day, in `like`'s time zone."""
    return datetime.combine(end + timedelta(days=1), time(), tzinfo=like.tzinfo)


def _fen(price: Decimal) -> int:
    return int(price * 100)


def _shops_in_order(snapshot: Snapshot, brand: str) -> list[str]:
    mine = [s for s in snapshot.shops if s.brand == brand]
    return [s.id for s in sorted(mine, key=lambda s: (s.priority, s.id))]


def _history(
    snapshot: Snapshot, sku_pos: Mapping[str, int], shop_pos: Mapping[str, int], start: date, n: int
) -> tuple[I64, I64, Mask, Mask, I64]:
    """The window's days of the brand's history rows, and per SKU the units sold after
    the window (up to the snapshot's as_of)."""
    shape = (len(sku_pos), len(shop_pos), n)
    units = np.zeros(shape, dtype=np.int64)
    listed = np.full(shape, -1, dtype=np.int64)
    out = np.zeros(shape, dtype=bool)
    covered = np.zeros(shape, dtype=bool)
    later = np.zeros(len(sku_pos), dtype=np.int64)
    for row in snapshot.history:
        s, p = sku_pos.get(row.sku), shop_pos.get(row.shop)
        if s is None or p is None:
            continue
        offset = (row.start - start).days  # the row's first day, in window days
        lo, hi = max(0, offset), min(n, offset + len(row.units))
        later[s] += sum(row.units[max(0, n - offset) :])
        if lo >= hi:
            continue
        days = slice(lo - offset, hi - offset)
        units[s, p, lo:hi] = row.units[days]
        covered[s, p, lo:hi] = True
        if row.listed is not None:
            listed[s, p, lo:hi] = row.listed[days]
            out[s, p, lo:hi] |= listed[s, p, lo:hi] == 0
        if row.out_of_stock is not None:
            out[s, p, lo:hi] |= np.array(row.out_of_stock[days], dtype=bool)
    return units, listed, out, covered, later


def _physical(snapshot: Snapshot, ruleset: Ruleset, skus: Sequence[str]) -> I64:
    """Per SKU of `skus`, the physical units the scenarios count at the snapshot's as_of."""
    index = SnapshotIndex.build(snapshot)
    physical = derive_supply(index, ruleset).physical
    at = {sku: k for k, sku in enumerate(index.sku_ids)}
    return np.array([physical[at[sku]] for sku in skus], dtype=np.int64)


def plan_input(
    plan_id: str, plan: Mapping[str, Any], sku_pos: Mapping[str, int], shop_pos: Mapping[str, int]
) -> PlanInput:
    """The brand's part of a plan document: its own quantity plus the shared part per cell."""
    listed = np.zeros((len(sku_pos), len(shop_pos)), dtype=np.int64)
    for (shop, sku), units in plan_quantities(dict(plan)).items():
        if sku in sku_pos and shop in shop_pos:
            listed[sku_pos[sku], shop_pos[shop]] += units
    for sku, part in plan_shared(dict(plan)).items():
        for shop in part.shops:
            if sku in sku_pos and shop in shop_pos:
                listed[sku_pos[sku], shop_pos[shop]] += part.units
    return PlanInput(plan_id, listed)


def inputs_of(
    snapshot: Snapshot,
    ruleset: Ruleset,
    brand: str,
    start: date,
    end: date,
    *,
    today: date,
    kind: ReportKind = "campaign",
    plans: Mapping[str, Mapping[str, Any]] | None = None,
    settlements: Sequence[SettlementInput] = (),
    prices: PriceCheckInput | None = None,
    completeness: Sequence[CompletenessInput] = (),
    sources: Mapping[str, str] | None = None,
) -> ReportInputs:
    """The inputs of `brand`'s report over `start`..`end` from a validated snapshot (with
    its history), the ruleset its stock is counted under and the documents beside it."""
    check_window(start, end, today)
    brands = {b.id: b.name for b in snapshot.brands}
    if brand not in brands:
        raise UnknownBrand(brand, list(brands))
    mine = [s for s in snapshot.skus if s.brand == brand]
    skus = [s.id for s in mine]
    shops = _shops_in_order(snapshot, brand)
    sku_pos = {sku: k for k, sku in enumerate(skus)}
    shop_pos = {shop: k for k, shop in enumerate(shops)}
    n = (end - start).days + 1
    units, listed, out, covered, later = _history(snapshot, sku_pos, shop_pos, start, n)
    # The stock at the end of day d: what is there now plus what sold after day d.
    sold = units.sum(axis=1)
    after = np.cumsum(sold[:, ::-1], axis=1)[:, ::-1] - sold + later[:, None]
    stock_end = _physical(snapshot, ruleset, skus)[:, None] + after
    listed_end = np.zeros((len(skus), len(shops)), dtype=np.int64)
    for row in snapshot.listed:
        if row.sku in sku_pos and row.shop in shop_pos:
            listed_end[sku_pos[row.sku], shop_pos[row.shop]] = row.quantity
    # A window not over yet when the snapshot was taken is reported as of the snapshot.
    as_of = min(window_end(end, snapshot.as_of), snapshot.as_of)
    made = {
        "snapshot_as_of": snapshot.as_of.isoformat(),
        "as_of": as_of.isoformat(),
        **(sources or {}),
    }
    if plans:
        made["plans"] = ",".join(plans)
    for run in settlements:
        made[f"settlement_{run.period}"] = run.run_id
    if prices is not None:
        made["price_check"] = prices.check_id
    return ReportInputs(
        tenant=snapshot.tenant,
        brand=brand,
        brand_name=brands[brand],
        kind=kind,
        start=start,
        end=end,
        as_of=as_of,
        skus=tuple(skus),
        categories=tuple(s.category for s in mine),
        price_fen=np.array([_fen(s.price) for s in mine], dtype=np.int64),
        shops=tuple(shops),
        units=units,
        listed=listed,
        out_of_stock=out,
        covered=covered,
        stock_end=stock_end,
        listed_end=listed_end,
        plans=tuple(plan_input(pid, p, sku_pos, shop_pos) for pid, p in (plans or {}).items()),
        settlements=tuple(settlements),
        prices=prices,
        completeness=tuple(completeness),
        sources=made,
    )


def months(start: date, end: date) -> list[str]:
    """The settlement periods (YYYY-MM) the window touches, in order."""
    found, day = [], start.replace(day=1)
    while day <= end:
        found.append(f"{day:%Y-%m}")
        day = (day + timedelta(days=32)).replace(day=1)
    return found


def stored_settlements(
    runs: SettlementStore, tenant: str, brand: str, start: date, end: date
) -> list[SettlementInput]:
    """Per month the window touches, the brand's newest done run (none: left out)."""
    found = []
    for period in months(start, end):
        done = [
            r for r in runs.runs(tenant, brand=brand, period=period) if r.status == RunStatus.DONE
        ]
        if not done:
            continue
        run = runs.run(tenant, done[0].id)
        bill = runs.bill(tenant, run.id)
        if bill is None or run.summary is None:
            continue
        outcomes = {str(k): int(v) for k, v in run.summary.get("outcomes", {}).items()}
        found.append(SettlementInput(run.id, period, bill, outcomes))
    return found


def brand_breaches(check_id: str, at: str, body: Mapping[str, Any], brand: str) -> PriceCheckInput:
    """A price check's rows of `brand` (engine/services/prices.py `latest` cuts a brand
    viewer's view the same way)."""
    rows = cast(list[dict[str, Any]], body.get("breaches", []))
    return PriceCheckInput(check_id, at, tuple(r for r in rows if r.get("brand") == brand))


def published_plan_ids(store: Store, start: date, end: date, like: datetime) -> list[str]:
    """The plans published through the API from the window's first day to its end, in
    the order they were published (read from the audit log)."""
    first = datetime.combine(start, time(), tzinfo=like.tzinfo)
    last = window_end(end, like)
    ids: list[str] = []
    for entry in reversed(store.audit_entries(store.audit_keep)):
        route, target = str(entry.get("route", "")), entry.get("target") or {}
        if not route.endswith(PUBLISH_ROUTE) or int(entry.get("status", 500)) >= 300:
            continue
        at = datetime.fromisoformat(str(entry["at"]))
        plan_id = target.get("plan_id") if isinstance(target, dict) else None
        if plan_id and first <= at < last and plan_id not in ids:
            ids.append(str(plan_id))
    return ids


def catalog_inputs(
    catalog: CatalogStore, tenant: str, brand: str
) -> tuple[PriceCheckInput | None, tuple[CompletenessInput, ...]]:
    """The price guard's newest check (cut to the brand) and the brand's stored
    completeness rows per platform, from the catalog database."""
    found = catalog.latest_price_check(tenant)
    prices = (
        None
        if found is None
        else brand_breaches(str(found.id), found.created_at.isoformat(), found.body, brand)
    )
    rows = catalog.completeness(tenant, brand)
    return prices, completeness_by_platform((r.platform, r.ok, r.score) for r in rows)


def gather(
    store: Store,
    brand: str,
    start: date,
    end: date,
    *,
    today: date,
    kind: ReportKind = "campaign",
    settlement_runs: SettlementStore | None = None,
    catalog: CatalogStore | None = None,
    plan_ids: Sequence[str] | None = None,
) -> ReportInputs:
    """The inputs of a report from the tenant's store (snapshot, ruleset, plans and the
    audit log of their publishing), its settlement database and its catalog database
    (price checks, completeness); a database not given leaves its sections empty.
    `plan_ids`: the plans to compare with sales (default: those published in the
    window)."""
    stored = store.get_snapshot_text()
    snapshot = parse_snapshot(json.loads(stored.text), "stored snapshot")
    # The stored text's hash: a rebuild from the same snapshot names the same one.
    digest = hashlib.sha256(stored.text.encode()).hexdigest()
    try:
        rules = store.get_ruleset()
        ruleset, rules_version = parse_ruleset(rules.body, "stored ruleset"), str(rules.version)
    except NotFound:
        ruleset, rules_version = Ruleset(), "none"
    check_window(start, end, today)
    ids = (
        list(plan_ids)
        if plan_ids is not None
        else published_plan_ids(store, start, end, snapshot.as_of)
    )
    plans: dict[str, Mapping[str, Any]] = {}
    for plan_id in ids:
        try:
            plans[plan_id] = store.get_plan(plan_id)
        except NotFound:
            continue
    runs = (
        stored_settlements(settlement_runs, store.tenant, brand, start, end)
        if settlement_runs is not None
        else []
    )
    prices, completeness = (
        catalog_inputs(catalog, store.tenant, brand) if catalog is not None else (None, ())
    )
    return inputs_of(
        snapshot,
        ruleset,
        brand,
        start,
        end,
        today=today,
        kind=kind,
        plans=plans,
        settlements=runs,
        prices=prices,
        completeness=completeness,
        sources={
            "snapshot_sha256": digest,
            "stock_version": str(stored.version),
            "ruleset_version": rules_version,
        },
    )
