"""Playing a scenario's variants onto the base world: one spec.VariantInputs per variant.

Overrides (models in engine/scenarios/format.py) apply in file order to a VariantDraft,
the variant's state so far. A problem becomes an Issue under the override's path rather
than an exception, and the issues of every variant are raised together as one
InputError. Ids are checked against the base data, since a typo must never silently
select nothing. A variant that changes nothing shares the base's Snapshot and Ruleset
objects, so it plays exactly what the base plays.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher, get_close_matches

import numpy as np

from engine.errors import InputError, Issue
from engine.index import SnapshotIndex
from engine.model import MAX_UNITS, Shop, Snapshot, StockRow, VelocityRow, cross_reference_issues
from engine.scenarios.format import (
    BASE,
    AddArrival,
    AddRule,
    ArrivalSpec,
    CloseShop,
    Incumbent,
    Mode,
    OpenShop,
    Override,
    RemoveRule,
    ReplaceRule,
    Scenario,
    SetMode,
    StockDelta,
    UpliftDemand,
    Variant,
    variant_path,
)
from engine.scenarios.spec import Arrival, IncumbentPolicy, Uplift, VariantInputs
from rules.catalog import (
    Fixed,
    MaxCap,
    PreorderCap,
    PromotionHold,
    RuleBase,
    Ruleset,
    ShopLock,
    VirtualStock,
)
from rules.references import check_references
from rules.scope import SPECIFICITY, Scope


@dataclass(frozen=True)
class BuiltVariant:
    inputs: VariantInputs
    notes: tuple[str, ...] = ()  # what a planner should know: stock clamped, shares > 100%


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
                d.issues.append(Issue(f"{path}.{amount}", f"{row.sku} would hold over 10^12 units"))
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


# --- the variant's final snapshot and ruleset ---------------------------------------------


def _puts_units_on(rule: RuleBase, shop: str) -> bool:
    """Whether the rule would place units on the shop despite a shop-wide cap of 0: a
    hard floor (the plan would conflict) or a more specific cap (it would win)."""
    if isinstance(rule, Fixed):
        return not rule.best_effort and rule.quantities.get(shop, 0) > 0
    if isinstance(rule, ShopLock | PromotionHold | PreorderCap):
        return rule.shop == shop
    if isinstance(rule, VirtualStock):
        return rule.shops is not None and shop in rule.shops
    if isinstance(rule, MaxCap) and rule.scope.specificity() > SPECIFICITY["shop"]:
        return bool(rule.quantity if rule.quantities is None else rule.quantities.get(shop, 0))
    return False


def _close_shops(d: VariantDraft, index: SnapshotIndex) -> None:
    """Append a top-priority cap of 0 per closed shop, after every other override, so no
    later rule outranks it; refuse rules that would still put units there."""
    start = d.world.snapshot.as_of
    end = start + dt.timedelta(days=d.world.horizon_days)
    top = max((rule.priority for rule in d.rules), default=0) + 1
    for shop, j in d.closed.items():
        cells = index.cell_shop == index.shop_pos[shop]
        for k, rule in enumerate(d.rules):
            if (
                _puts_units_on(rule, shop)
                and (rule.active_to is None or rule.active_to > start)
                and (rule.active_from is None or rule.active_from < end)
                and np.any(index.cell_mask(rule.scope) & cells)
            ):
                name = repr(rule.id) if rule.id else f"rules[{k}]"
                message = f"rule {name} still puts units on {shop!r}; remove or replace it"
                d.issues.append(Issue(f"{d.at(j, 'close_shop')}.shop", message))
        scope = Scope(shop=[shop])
        d.rules.append(
            MaxCap(type="max_cap", id=f"close-{shop}", scope=scope, quantity=0, priority=top)
        )
        d.origins.append((j, "close_shop"))
        d.rules_changed = True


_RULE_PATH = re.compile(r"rules\[(\d+)\]( \(id [^)]*\))?(.*)", re.DOTALL)


def _rule_issue(d: VariantDraft, issue: Issue) -> Issue:
    """A check_references issue of the variant's ruleset, under the override that put the
    rule there when one did."""
    found = _RULE_PATH.fullmatch(issue.path)
    origin = d.origins[int(found[1])] if found else None
    if found is None or origin is None:
        return Issue(f"{d.path}.ruleset.{issue.path}", issue.message)
    j, op = origin
    where = f"{d.path}.overrides[{j}] ({op})"
    return Issue(
        where + ("" if op == "close_shop" else f".rule{found[2] or ''}") + found[3], issue.message
    )


def _finish(d: VariantDraft, base: Ruleset) -> tuple[Snapshot, Ruleset]:
    w = d.world
    sections = {"stock": d.stock, "shops": d.shops, "velocity": d.velocity}
    changed = {name: rows for name, rows in sections.items() if rows is not None}
    snapshot = w.snapshot.model_copy(update=changed) if changed else w.snapshot
    if changed and (found := cross_reference_issues(snapshot)):
        d.issues += [Issue(f"{d.path}.snapshot.{i.path}", i.message) for i in found]
        return snapshot, base
    # Stock does not change what a rule may name or which cells a shop has.
    index = w.index if d.shops is None else SnapshotIndex.build(snapshot)
    _close_shops(d, index)
    if not d.rules_changed:
        return snapshot, base
    ruleset = base.model_copy(update={"rules": d.rules})
    try:
        check_references(ruleset, index)
    except InputError as err:
        d.issues += [_rule_issue(d, issue) for issue in err.issues]
    return snapshot, ruleset


def _incumbent(d: VariantDraft, variant: Variant, snapshot: Snapshot) -> IncumbentPolicy | None:
    if variant.planner != "incumbent":
        return None
    spec = variant.incumbent or Incumbent()
    shops = {shop.id: shop.brand for shop in snapshot.shops}
    d.issues += unknown(f"{d.path}.incumbent.shares", "shop", spec.shares, shops)
    totals: dict[str, float] = {}
    for shop, brand in shops.items():
        if shop not in d.closed:  # a closed shop lists nothing, whatever its share
            totals[brand] = totals.get(brand, 0.0) + spec.shares.get(shop, spec.default_share_pct)
    for brand, total in totals.items():
        if total > 100 + 1e-9:
            d.notes.append(
                f"{d.path}.incumbent: the shares of brand {brand}'s shops add up to {total:g}%;"
                " each shop is computed alone, so together they may list more than the pool"
            )
    return spec.policy()


def build_variants(scenario: Scenario, snapshot: Snapshot, ruleset: Ruleset) -> list[BuiltVariant]:
    """The base variant, then the file's variants in order, each with its notes; the
    issues of all variants at once as an InputError."""
    world = World.of(snapshot, ruleset.rules, scenario.simulation.horizon_days)
    issues: list[Issue] = []
    arrivals = [
        arrival_of(a, f"arrivals[{k}]", world, issues) for k, a in enumerate(scenario.arrivals)
    ]
    base_arrivals = tuple(a for a in arrivals if a is not None)
    mode: Mode = scenario.base.mode or snapshot.mode
    built = [BuiltVariant(VariantInputs(BASE, snapshot, ruleset, mode, arrivals=base_arrivals))]
    for i, variant in enumerate(scenario.variants):
        d = VariantDraft(
            variant_path(i, variant), world, list(ruleset.rules), [None] * len(ruleset.rules)
        )
        for j, override in enumerate(variant.overrides):
            apply_override(d, j, override)
        variant_snapshot, variant_ruleset = _finish(d, ruleset)
        policy = _incumbent(d, variant, variant_snapshot)
        issues += d.issues
        inputs = VariantInputs(
            name=variant.name,
            snapshot=variant_snapshot,
            ruleset=variant_ruleset,
            mode=variant.mode or d.mode or mode,
            planner=variant.planner,
            incumbent=policy,
            uplifts=tuple(d.uplifts),
            arrivals=base_arrivals + tuple(d.arrivals),
            closed_shops=frozenset(d.closed),
        )
        built.append(BuiltVariant(inputs, tuple(d.notes)))
    if issues:
        raise InputError(issues, scenario.source)
    return built


def variant_inputs(scenario: Scenario, snapshot: Snapshot, ruleset: Ruleset) -> list[VariantInputs]:
    """What the simulator plays: base first, then the file's variants in order."""
    return [variant.inputs for variant in build_variants(scenario, snapshot, ruleset)]
