"""The compile step: snapshot index + ruleset + mode -> one array Problem.

Runs the rule pipeline in order (docs/rules.md): the pool, reserves and pins, bounds,
targets, couplings; each stage applies its rule kinds from a table (rules/supply.py,
bounds.py, targets.py, couplings.py). Checks that the hard rules can all hold (a typed
ConflictError names the rules and SKUs if not), and hands over, frozen, what the post
step, plan assembly and the explanations need: the post rules and the provenance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.core.errors import ConflictError
from engine.core.index import SnapshotIndex
from engine.core.modes import NORMAL, PEAK, Mode
from rules.bounds import apply_bounds, apply_uplift
from rules.bundles import (
    bound_where_unmade,
    bundle_virtual,
    bundles_of,
    is_bundle,
    unshare_where_unmade,
)
from rules.catalog import Kind, Ruleset
from rules.couplings import shop_capacity, value_budgets
from rules.draft import Draft
from rules.groups import keep_velocity_share, narrow_shared, supply_groups
from rules.post_rules import PostRules, post_rules
from rules.provenance import Provenance
from rules.references import check_references
from rules.supply import apply_pins, apply_reserves, build_pool
from rules.targets import apply_targets
from rules.worth import with_unit_costs
from solvers.problem import Bundles, Problem, check_bundles
from solvers.split import whole


@dataclass(frozen=True)
class Compiled:
    index: SnapshotIndex
    ruleset: Ruleset
    problem: Problem
    post: PostRules
    provenance: Provenance
    mode: Mode  # the plan's mode: peak when every SKU is in peak mode


def compile_problem(index: SnapshotIndex, ruleset: Ruleset, mode: Mode) -> Compiled:
    check_references(ruleset, index)
    d = Draft.start(index, ruleset, mode)
    _warn_unmatched(d)

    apply_uplift(d)
    by_wh, reach = build_pool(d)
    apply_reserves(d)
    apply_pins(d)
    apply_bounds(d)
    bundles = bundles_of(d)
    if bundles is not None:
        bound_where_unmade(d, bundles, by_wh)
    # The bounds before the shares hold back the cells they leave out: a shop that then
    # leaves a shared set takes units again, within them (rules/groups.py).
    bounds = d.ub.copy() if reach is not None else d.ub
    apply_targets(d)
    if bundles is not None:
        unmade = unshare_where_unmade(d, bundles)
        if reach is not None and unmade.any():  # they list their share of its own units
            keep_velocity_share(d, by_wh, reach, bounds, unmade)
    narrow_shared(d, by_wh, reach, bounds)
    groups = supply_groups(d, by_wh, reach)
    _check_hard_rules(d, bundles)
    capacity = shop_capacity(d)
    budgets = value_budgets(d)
    if d.conflicts:
        raise ConflictError(d.conflicts)

    # ub: at most what the pool (and bundles the components make) holds, never below lb.
    ub = index.by_sku.spread(d.pool + bundle_virtual(d, bundles))
    np.maximum(ub, d.lb, out=ub)
    np.minimum(d.ub, ub, out=ub)
    problem = Problem(
        sku_ids=index.sku_ids,
        shop_ids=index.shop_ids,
        cell_sku=index.cell_sku,
        cell_shop=index.cell_shop,
        lb=d.lb,
        ub=ub,
        floor=d.floor,
        target=d.target,
        pool=d.pool,
        free_idle=np.where(is_bundle(index.n_skus, bundles), 0, d.free_idle),
        shop_rank=index.shop_rank,
        shared=d.shared,
        in_shared=d.in_shared,
        shop_capacity=capacity,
        price_cents=index.price_cents,
        groups=groups,
        bundles=bundles,
        budgets=budgets,
        sku_grouping=index.by_sku,
        known_cell_rank=index.cell_rank,
    )
    problem = whole(problem)  # with the features its data has
    problem = with_unit_costs(problem, d.worth)
    check_bundles(problem)
    plan_mode = PEAK if np.all(d.peak) else NORMAL
    return Compiled(index, ruleset, problem, post_rules(d), Provenance.of(d), plan_mode)


def _warn_unmatched(d: Draft) -> None:
    """A rule whose scope selects no SKU/shop pair is almost always a typo."""
    for k in d.active:
        rule = d.rule(k)
        if rule.kind in (Kind.PEAK, Kind.EXCLUDE, Kind.COMPOSITION, Kind.BUNDLE):
            continue
        if not d.ix.has_cells(rule.scope):
            d.warn("rule_matched_nothing", k, "its scope selects no SKU on any shop")


def _check_hard_rules(d: Draft, bundles: Bundles | None) -> None:
    ix = d.ix
    crossed = d.lb > d.ub
    if np.any(crossed):
        for lb_rule, ub_rule in sorted(
            {(int(a), int(b)) for a, b in zip(d.lb_rule[crossed], d.ub_rule[crossed], strict=True)}
        ):
            cells = crossed & (d.lb_rule == lb_rule) & (d.ub_rule == ub_rule)
            d.conflict(
                [lb_rule, ub_rule],
                np.unique(ix.cell_sku[cells]),
                "a floor the rules require is above a cap they set",
            )
    supply = d.pool + bundle_virtual(d, bundles)
    short = np.flatnonzero(d.per_sku(d.lb) > supply)
    if short.size:
        rules = d.lb_rule[np.isin(ix.cell_sku, short) & (d.lb > 0)]
        need = d.per_sku(d.lb)[short]
        d.conflict(
            list(np.unique(rules)),
            short,
            f"they require {need[0]} units where the pool has {supply[short[0]]}",
        )
