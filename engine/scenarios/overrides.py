"""Playing a scenario's variants onto the base world: one spec.VariantInputs per variant.

Each variant's overrides apply in file order to a VariantDraft (variant_draft.py); here
the draft becomes the variant's final snapshot and ruleset, and the issues of every
variant are raised together as one InputError. A variant that changes nothing shares the
base's Snapshot and Ruleset objects, so it plays exactly what the base plays.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np

from engine.core.errors import InputError, Issue
from engine.core.index import SnapshotIndex
from engine.core.scope import SPECIFICITY, Scope
from engine.core.snapshot import Snapshot, cross_reference_issues
from engine.scenarios.format import BASE, Incumbent, Mode, Scenario, Variant, variant_path
from engine.scenarios.spec import IncumbentPolicy, VariantInputs
from engine.scenarios.variant_draft import (
    VariantDraft,
    World,
    apply_override,
    arrival_of,
    unknown,
    window_issues,
)
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

__all__ = [
    "BuiltVariant",
    "VariantDraft",
    "World",
    "apply_override",
    "arrival_of",
    "build_variants",
    "unknown",
    "variant_inputs",
    "window_issues",
]


@dataclass(frozen=True)
class BuiltVariant:
    inputs: VariantInputs
    notes: tuple[str, ...] = ()  # what a planner should know: stock clamped, shares > 100%


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
            planner_velocity=variant.planner_velocity,
        )
        built.append(BuiltVariant(inputs, tuple(d.notes)))
    if issues:
        raise InputError(issues, scenario.source)
    return built


def variant_inputs(scenario: Scenario, snapshot: Snapshot, ruleset: Ruleset) -> list[VariantInputs]:
    """What the simulator plays: base first, then the file's variants in order."""
    return [variant.inputs for variant in build_variants(scenario, snapshot, ruleset)]
