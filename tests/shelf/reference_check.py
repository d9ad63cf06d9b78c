"""The two-way check as it was first written: row by row over the snapshot's models.
Kept as the reference the array check (engine/checks/two_way.py) is held to on random
snapshots and plans (tests/shelf/test_check_arrays.py); not used by the product."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from engine.checks.findings import SEVERITY_RANK, CheckThresholds, StockWarning
from engine.core.plan import Plan
from engine.core.snapshot import Snapshot, StockRow


@dataclass(frozen=True)
class Units:
    now: int
    ceiling: int


def _free(row: StockRow) -> int:
    held = row.locked + row.reserved + row.defective + row.pending_review + row.unpaid
    return max(row.on_hand - held, 0)


def _reachable(row: StockRow) -> int:
    incoming = row.in_transit + row.purchase_in_transit + row.transfer_in_transit
    return max(row.on_hand - row.defective, 0) + incoming


class StockView:
    """Units per SKU, per SKU and shop, from a snapshot (and the plan's virtual units)."""

    def __init__(self, snapshot: Snapshot, virtual: dict[str, int] | None = None) -> None:
        sellable = {w.id for w in snapshot.warehouses if w.supplies_by_default}
        self.virtual = virtual or {}
        self.components = {s.id: s.components for s in snapshot.skus if s.components}
        self.supply = {
            s.id: set(s.warehouses) if s.warehouses is not None else sellable
            for s in snapshot.shops
        }
        self.supply = {shop: whs & sellable for shop, whs in self.supply.items()}
        self.rows: dict[str, list[StockRow]] = defaultdict(list)
        for row in snapshot.stock:
            if row.warehouse in sellable:
                self.rows[row.sku].append(row)

    def units(self, sku: str, shop: str | None = None) -> Units:
        """For one shop (its supplying warehouses) or, without a shop, for the SKU."""
        rows = [r for r in self.rows[sku] if shop is None or r.warehouse in self.supply[shop]]
        now = sum(_free(r) for r in rows) + self.virtual.get(sku, 0)
        ceiling = sum(_reachable(r) for r in rows) + self.virtual.get(sku, 0)
        parts = self.components.get(sku)
        if parts:
            ceiling += min(self.units(c.sku, shop).ceiling // c.qty for c in parts)
        return Units(now, ceiling)


@dataclass(frozen=True)
class PlanView:
    """What the latest published plan gives each (SKU, shop)."""

    allowance: dict[tuple[str, str], int]  # exclusive plus shared units
    shared: dict[tuple[str, str], int]
    virtual: dict[str, int]

    @classmethod
    def of(cls, plan: Plan, snapshot: Snapshot) -> PlanView:
        return cls(
            allowance={(a.sku, a.shop): a.quantity + a.shared for a in plan.allocations},
            shared={(a.sku, a.shop): a.shared for a in plan.allocations if a.shared},
            virtual={p.sku: p.virtual for p in plan.skus if p.virtual},
        )

    def promised(self, sku: str, shops: list[str]) -> int:
        """Units of the SKU the plan lists in all, its shared part counted once."""
        shared = max((self.shared.get((sku, s), 0) for s in shops), default=0)
        given = sum(self.allowance.get((sku, s), 0) - self.shared.get((sku, s), 0) for s in shops)
        return given + shared


@dataclass
class _Context:
    stock: StockView
    plan: PlanView | None
    listed: dict[tuple[str, str], int]
    velocity: dict[tuple[str, str], float]
    limits: CheckThresholds


def _warn(*fields: str | None) -> StockWarning:
    """(code, severity, sku, shop, message, fix) of a warning about the listings."""
    names = ("code", "severity", "sku", "shop", "message", "fix")
    return StockWarning.model_validate(
        {"source": "listed", **dict(zip(names, fields, strict=True))}
    )


def _listing(ctx: _Context, sku: str, shop: str) -> list[StockWarning]:
    """Oversell risk, dead listing or drift of one listing."""
    listed = ctx.listed.get((sku, shop), 0)
    planned = ctx.plan.allowance.get((sku, shop), 0) if ctx.plan else None
    if listed > 0:
        units = ctx.stock.units(sku, shop)
        if units.now == 0:
            message = f"{shop} lists {listed} of {sku} with no stock to ship"
            return [_warn("dead_listing", "high", sku, shop, message, f"delist {sku} on {shop}")]
        if listed > units.ceiling:
            target = units.ceiling if planned is None else min(planned, units.ceiling)
            message = (
                f"{shop} lists {listed} of {sku}; at most {units.ceiling} exist,"
                " in transit included"
            )
            fix = f"lower {shop}'s listing of {sku} to {target}"
            if planned is not None and target == planned:
                fix += " (publish the plan)"
            return [_warn("oversell_risk", "high", sku, shop, message, fix)]
        if planned is not None and listed > planned:
            message = (
                f"{shop} lists {listed} of {sku}, above the {planned} the plan gives it:"
                " other shops' units are at risk"
            )
            fix = f"lower {shop}'s listing of {sku} to {planned} (publish the plan)"
            return [_warn("oversell_risk", "medium", sku, shop, message, fix)]
    if planned is not None:
        short = planned - listed
        if short > max(ctx.limits.drift_units, ctx.limits.drift_share * planned):
            message = f"{shop} lists {listed} of {sku}, the plan gives {planned}: {short} short"
            fix = f"raise {shop}'s listing of {sku} to {planned} (publish the plan)"
            return [_warn("drift", "low", sku, shop, message, fix)]
    return []


def _listed_once(ctx: _Context, sku: str, shops: list[str]) -> int:
    """Units listed in all, the plan's shared part (listed by several shops) once."""
    shared = {s: ctx.plan.shared.get((sku, s), 0) for s in shops} if ctx.plan else {}
    listed = {s: ctx.listed.get((sku, s), 0) for s in shops}
    own = sum(max(listed[s] - shared.get(s, 0), 0) for s in shops)
    return own + max((min(listed[s], shared.get(s, 0)) for s in shops), default=0)


def _unlisted(ctx: _Context, sku: str, shops: list[str]) -> StockWarning | None:
    """Stock that can ship and that no shop lists, where the plan does list it."""
    now = ctx.stock.units(sku).now
    if now == 0 or any(ctx.listed.get((sku, s), 0) for s in shops):
        return None
    if ctx.plan is not None:
        given = [(s, ctx.plan.allowance.get((sku, s), 0)) for s in shops]
        given = [(s, q) for s, q in given if q > 0]
        if not given:
            return None  # the plan keeps it back on purpose (a reserve or a rule)
        fix = "publish the plan: it lists " + ", ".join(f"{s} {q}" for s, q in given)
    else:
        best = max(shops, key=lambda s: (ctx.velocity.get((sku, s), 0.0), s))
        fix = f"list it on {best}"
    message = f"{now} units of {sku} can ship, and no shop lists them"
    return _warn("stranded_stock", "medium", sku, None, message, fix)


def _misplaced(ctx: _Context, sku: str, shops: list[str]) -> StockWarning | None:
    """Units listed where they do not sell while a shop that sells them runs out."""
    idle = [s for s in shops if ctx.listed.get((sku, s), 0) > 0 and not ctx.velocity.get((sku, s))]
    starving = [
        s
        for s in shops
        if ctx.velocity.get((sku, s), 0.0) > 0
        and ctx.listed.get((sku, s), 0) < ctx.velocity[(sku, s)] * ctx.limits.runout_days
        and ctx.stock.units(sku, s).ceiling > 0
    ]
    if not idle or not starving:
        return None
    hungry = max(starving, key=lambda s: (ctx.velocity[(sku, s)], s))
    rate, has = ctx.velocity[(sku, hungry)], ctx.listed.get((sku, hungry), 0)
    parked = sum(ctx.listed[(sku, s)] for s in idle)
    moved = min(parked, max(math.ceil(rate * ctx.limits.cover_days) - has, 1))
    where = ", ".join(idle)
    message = (
        f"{parked} units of {sku} are listed on {where} with no sales,"
        f" while {hungry} sells {rate:.1f}/day with {has} listed"
    )
    fix = f"move {moved} units of {sku} from {where} to {hungry}"
    return _warn("stranded_stock", "medium", sku, None, message, fix)


def _sku_warnings(ctx: _Context, sku: Any, shops: list[str]) -> list[StockWarning]:
    found = [w for shop in shops for w in _listing(ctx, sku.id, shop)]
    if not any(w.severity == "high" for w in found):
        total, ceiling = _listed_once(ctx, sku.id, shops), ctx.stock.units(sku.id).ceiling
        if total > ceiling:
            message = f"listings of {sku.id} add up to {total}; at most {ceiling} exist"
            fix = f"publish a plan made from fresh stock for {sku.id}"
            found.append(_warn("oversell_risk", "high", sku.id, None, message, fix))
    unlisted = _unlisted(ctx, sku.id, shops)
    if unlisted is not None:
        # Every shop's drift says the same as the one stranded-stock warning.
        found = [w for w in found if w.code != "drift"] + [unlisted]
    misplaced = _misplaced(ctx, sku.id, shops)
    return found + ([misplaced] if misplaced is not None else [])


def _by_severity(warnings: list[StockWarning]) -> list[StockWarning]:
    return sorted(warnings, key=lambda w: -SEVERITY_RANK[w.severity])


def brand_shops(snapshot: Snapshot) -> dict[str, list[str]]:
    shops: dict[str, list[str]] = defaultdict(list)
    for shop in snapshot.shops:
        shops[shop.brand].append(shop.id)
    return shops


def check_stock(
    snapshot: Snapshot, plan: Plan | None = None, limits: CheckThresholds | None = None
) -> list[StockWarning]:
    """Every warning for the snapshot's listings, against the plan when one is given."""
    plan_view = PlanView.of(plan, snapshot) if plan is not None else None
    ctx = _Context(
        stock=StockView(snapshot, plan_view.virtual if plan_view else None),
        plan=plan_view,
        listed={(r.sku, r.shop): r.quantity for r in snapshot.listed},
        velocity={(v.sku, v.shop): v.units_per_day for v in snapshot.velocity},
        limits=limits or CheckThresholds(),
    )
    shops = brand_shops(snapshot)
    return _by_severity(
        [w for sku in snapshot.skus for w in _sku_warnings(ctx, sku, shops[sku.brand])]
    )


def check_plan(plan: Plan, snapshot: Snapshot) -> list[StockWarning]:
    """The plan against fresh stock: units it lists that no longer exist."""
    view = PlanView.of(plan, snapshot)
    stock = StockView(snapshot, view.virtual)
    shops = brand_shops(snapshot)
    found = []
    for sku in snapshot.skus:
        for shop in shops[sku.brand]:
            given = view.allowance.get((sku.id, shop), 0)
            ceiling = stock.units(sku.id, shop).ceiling
            if given > ceiling:
                message = f"the plan gives {shop} {given} of {sku.id}; at most {ceiling} exist now"
                found.append(_plan_warning(sku.id, shop, message))
        promised, ceiling = view.promised(sku.id, shops[sku.brand]), stock.units(sku.id).ceiling
        if promised > ceiling:
            message = f"the plan lists {promised} of {sku.id} in all; at most {ceiling} exist now"
            found.append(_plan_warning(sku.id, None, message))
    return found


def _plan_warning(sku: str, shop: str | None, message: str) -> StockWarning:
    warning = _warn("oversell_risk", "high", sku, shop, message, "make a new plan from fresh stock")
    return warning.model_copy(update={"source": "plan"})
