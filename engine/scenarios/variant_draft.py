"""Applying a variant's overrides, one kind at a time, to a VariantDraft.

Overrides (models in engine/scenarios/variants.py) apply in file order to a VariantDraft,
the variant's state so far. A problem becomes an Issue under the override's path rather
than an exception (overrides.py raises the issues of every variant together as one
InputError). Ids are checked against the base data, since a typo must never silently
select nothing.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher, get_close_matches

from engine.core.errors import Issue
from engine.core.index import SnapshotIndex
from engine.core.limits import MAX_UNITS
from engine.core.snapshot import Shop, Snapshot, StockRow, VelocityRow
from engine.scenarios.format import (
    AddArrival,
    AddRule,
    ArrivalSpec,
    CloseShop,
    Mode,
    OpenShop,
    Override,
    RemoveRule,
    ReplaceRule,
    SetMode,
    StockDelta,
    UpliftDemand,
)
from engine.scenarios.spec import Arrival, Uplift
from rules.catalog import RuleBase


@dataclass(frozen=True)
class World:
    """Lookups of the base snapshot and ruleset, built once for all variants."""

    snapshot: Snapshot
    index: SnapshotIndex
    horizon_days: int
    skus: dict[str, tuple[str, str]]  # id -> (brand, category)
    categories: frozenset[str]
    warehouses: frozenset[str]
    brands: frozenset[str]
    rule_ids: frozenset[str]

    @classmethod
    def of(cls, snapshot: Snapshot, rules: Iterable[RuleBase], horizon_days: int) -> World:
        return cls(
            snapshot=snapshot,
            index=SnapshotIndex.build(snapshot),
            horizon_days=horizon_days,
            skus={s.id: (s.brand, s.category) for s in snapshot.skus},
            categories=frozenset(s.category for s in snapshot.skus),
            warehouses=frozenset(w.id for w in snapshot.warehouses),
            brands=frozenset(b.id for b in snapshot.brands),
            rule_ids=frozenset(r.id for r in rules if r.id is not None),
        )

    def day_of(self, date: dt.date) -> int:
        """0-based day of the horizon: day 0 is the calendar day of the snapshot's as_of."""
        return (date - self.snapshot.as_of.date()).days


def _hint(name: str, known: Collection[str]) -> str:
    """A suggestion when one known name is closest; a tie would only mislead. difflib
    compares with every known name, so very large sets go without."""
    if len(known) > 10_000:
        return ""
    near = get_close_matches(name, sorted(known), n=2)
    scores = [SequenceMatcher(None, name, other).ratio() for other in near]
    unique = len(near) == 1 or (len(near) == 2 and scores[0] > scores[1])
    return f" (did you mean {near[0]!r}?)" if unique else ""


def unknown(path: str, kind: str, names: Iterable[str], known: Collection[str]) -> list[Issue]:
    return [
        Issue(path, f"unknown {kind} {name!r}{_hint(name, known)}")
        for name in names
        if name not in known
    ]


def window_issues(path: str, first: int, last: int, horizon_days: int) -> list[Issue]:
    """A window of days, or one day, must lie in the horizon: outside it does nothing."""
    if first < 0:
        return [Issue(path, f"day {first} is before day 0 (the snapshot's as_of date)")]
    if last >= horizon_days:
        return [Issue(path, f"day {last} is after the horizon (days 0..{horizon_days - 1})")]
    return []


def arrival_of(spec: ArrivalSpec, path: str, world: World, issues: list[Issue]) -> Arrival | None:
    found = unknown(f"{path}.sku", "SKU", [spec.sku], world.skus)
    found += unknown(f"{path}.warehouse", "warehouse", [spec.warehouse], world.warehouses)
    day = spec.day if spec.date is None else world.day_of(spec.date)
    assert day is not None  # one of day and date is given (ArrivalSpec checks)
    when = f"{path}.day" if spec.date is None else f"{path}.date"
    found += window_issues(when, day, day, world.horizon_days)
    issues += found
    return None if found else Arrival(spec.sku, spec.warehouse, spec.quantity, day)


@dataclass
class VariantDraft:
    """One variant while its overrides are applied in file order. A snapshot section left
    None is unchanged, so the base's list (and the base Snapshot) is shared, not copied."""

    path: str  # "variants[2] (double11)"
    world: World
    rules: list[RuleBase]
    origins: list[tuple[int, str] | None]  # per rule: (override index, op), None = base
    stock: list[StockRow] | None = None
    shops: list[Shop] | None = None
    velocity: list[VelocityRow] | None = None
    rules_changed: bool = False
    mode: Mode | None = None
    uplifts: list[Uplift] = field(default_factory=list)
    arrivals: list[Arrival] = field(default_factory=list)
    closed: dict[str, int] = field(default_factory=dict)  # shop -> its close_shop override
    issues: list[Issue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def at(self, j: int, op: str) -> str:
        return f"{self.path}.overrides[{j}] ({op})"

    def current_shops(self) -> dict[str, Shop]:
        return {s.id: s for s in (self.shops or self.world.snapshot.shops)}

    def rule_position(self, path: str, rule_id: str) -> int | None:
        for k, rule in enumerate(self.rules):
            if rule.id == rule_id:
                return k
        if rule_id in self.world.rule_ids:
            message = f"rule {rule_id!r} was already removed or replaced by an earlier override"
        else:
            message = (
                f"no rule {rule_id!r} in the base ruleset{_hint(rule_id, self.world.rule_ids)}"
            )
        self.issues.append(Issue(path, message))
        return None


def _change_rules(d: VariantDraft, j: int, o: AddRule | RemoveRule | ReplaceRule) -> None:
    if isinstance(o, AddRule):
        d.rules.append(o.rule)
        d.origins.append((j, o.op))
    else:
        k = d.rule_position(f"{d.at(j, o.op)}.id", o.id)
        if k is None:
            return
        if isinstance(o, RemoveRule):
            del d.rules[k], d.origins[k]
        else:
            d.rules[k] = o.rule if o.rule.id is not None else o.rule.model_copy(update={"id": o.id})
            d.origins[k] = (j, o.op)
    d.rules_changed = True


def _stock_delta(d: VariantDraft, j: int, o: StockDelta) -> None:
    path, w = d.at(j, o.op), d.world
    found = unknown(f"{path}.sku", "SKU", o.sku or [], w.skus)
    found += unknown(f"{path}.category", "category", o.category or [], w.categories)
    found += unknown(f"{path}.warehouse", "warehouse", o.warehouse or [], w.warehouses)
    found += unknown(f"{path}.brand", "brand", o.brand or [], w.brands)
    d.issues += found
    if found:
        return
    skus, cats = set(o.sku or w.skus), set(o.category or w.categories)
    whs, brands = set(o.warehouse or w.warehouses), set(o.brand or w.brands)
    rows, matched, short, short_rows = [], set(), 0, 0
    for row in d.stock if d.stock is not None else w.snapshot.stock:
        brand, category = w.skus[row.sku]
        if row.sku in skus and category in cats and row.warehouse in whs and brand in brands:
            matched.add(row.sku)
            if o.delta is not None:
                units = row.on_hand + o.delta
            else:
                assert o.percent is not None
                units = math.floor(row.on_hand * (100 + o.percent) / 100 + 0.5)  # half up
            if units < 0:
                # A cut larger than the stock empties the row: a planner's "-50 units
                # everywhere" means "at most 50", not an error on every small row.
                short, short_rows, units = short - units, short_rows + 1, 0
            if units > MAX_UNITS:
                amount = "delta" if o.delta is not None else "percent"
                message = f"{row.sku} would hold over {MAX_UNITS:,} units"
                d.issues.append(Issue(f"{path}.{amount}", message))
                return
            if units != row.on_hand:
                row = row.model_copy(update={"on_hand": units})
        rows.append(row)
    # Only existing rows change: units added to a SKU named but without a selected row
    # would silently go nowhere.
    adds = (o.delta or 0) > 0 or (o.percent or 0) > 0
    missed = [s for s in o.sku or [] if s not in matched] if adds else []
    if not matched or missed:
        which = f"SKU {missed[0]!r} has" if missed else "the selectors match"
        d.issues.append(Issue(path, f"{which} no stock row to change"))
        return
    d.stock = rows
    if short_rows:
        message = f"{short_rows} stock row(s) held less than the cut: clamped at 0"
        d.notes.append(f"{path}: {message} ({short} unit(s) not removed)")


def _uplift(d: VariantDraft, j: int, o: UpliftDemand) -> None:
    path, w = d.at(j, o.op), d.world
    found = unknown(f"{path}.shops", "shop", o.shops or [], d.current_shops())
    found += unknown(f"{path}.categories", "category", o.categories or [], w.categories)
    found += unknown(f"{path}.skus", "SKU", o.skus or [], w.skus)
    if o.dates is not None:
        first, last = w.day_of(o.dates.from_), w.day_of(o.dates.to)
        found += window_issues(f"{path}.dates", first, last, w.horizon_days)
    else:
        assert o.days is not None
        first, last = o.days
        found += window_issues(f"{path}.days", first, last, w.horizon_days)
    d.issues += found
    if not found:
        shops, cats, skus = (tuple(s) if s else None for s in (o.shops, o.categories, o.skus))
        d.uplifts.append(Uplift(o.factor, first, last, shops, cats, skus, o.planned))


def _open_shop(d: VariantDraft, j: int, o: OpenShop) -> None:
    path, shops = d.at(j, o.op), d.current_shops()
    found = [Issue(f"{path}.id", f"shop {o.id!r} already exists")] if o.id in shops else []
    found += unknown(f"{path}.brand", "brand", [o.brand], d.world.brands)
    found += unknown(f"{path}.like", "shop", [o.like], shops)
    like = shops.get(o.like)
    if like is not None and o.brand in d.world.brands and like.brand != o.brand:
        message = f"shop {o.like!r} sells brand {like.brand!r}, not {o.brand!r}"
        found.append(Issue(f"{path}.like", message))
    d.issues += found
    if found or like is None:
        return
    priority = like.priority if o.priority is None else o.priority
    shop = Shop(
        id=o.id, brand=o.brand, platform=o.platform, priority=priority, warehouses=like.warehouses
    )
    d.shops = [*shops.values(), shop]
    velocity = d.velocity if d.velocity is not None else d.world.snapshot.velocity
    copied = [
        r.model_copy(update={"shop": o.id, "units_per_day": r.units_per_day * o.velocity_factor})
        for r in velocity
        if r.shop == o.like
    ]
    d.velocity = [*velocity, *copied]


def _close_shop(d: VariantDraft, j: int, o: CloseShop) -> None:
    path = f"{d.at(j, o.op)}.shop"
    found = unknown(path, "shop", [o.shop], d.current_shops())
    if o.shop in d.closed:
        found.append(Issue(path, f"already closed by overrides[{d.closed[o.shop]}]"))
    d.issues += found
    if not found:
        d.closed[o.shop] = j


def apply_override(d: VariantDraft, j: int, o: Override) -> None:
    """Apply override number j of the variant (one of format.Override) to the draft."""
    if isinstance(o, AddRule | RemoveRule | ReplaceRule):
        _change_rules(d, j, o)
    elif isinstance(o, StockDelta):
        _stock_delta(d, j, o)
    elif isinstance(o, UpliftDemand):
        _uplift(d, j, o)
    elif isinstance(o, OpenShop):
        _open_shop(d, j, o)
    elif isinstance(o, CloseShop):
        _close_shop(d, j, o)
    elif isinstance(o, SetMode):
        d.mode = o.mode
    elif isinstance(o, AddArrival):
        arrival = arrival_of(o, d.at(j, o.op), d.world, d.issues)
        if arrival is not None:
            d.arrivals.append(arrival)
    else:
        raise TypeError(f"not an override: {o!r}")
