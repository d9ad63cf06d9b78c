"""The compile step's working state: per-SKU and per-cell arrays that the stages
(supply, bounds, targets, couplings) fill in turn, with the rule behind each number.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from engine.errors import Conflict
from engine.index import SnapshotIndex
from engine.plan import PlanWarning
from rules.arith import winners
from rules.catalog import Kind, RuleBase, Ruleset

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
Mask = NDArray[np.bool_]
NONE = -1


def _full(n: int, value: int = 0) -> I64:
    return np.full(n, value, dtype=np.int64)


@dataclass
class Draft:
    ix: SnapshotIndex
    ruleset: Ruleset
    active: list[int]
    peak: Mask  # per SKU
    warnings: list[PlanWarning] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)

    # Per SKU -------------------------------------------------------------------
    sellable: I64 = field(init=False)  # reachable sellable units before reserves
    unreachable: I64 = field(init=False)  # sellable units no shop may receive
    reserved: dict[int, I64] = field(init=False)  # rule index -> units held back
    virtual: I64 = field(init=False)  # units added beyond stock
    locked_taken: I64 = field(init=False)  # locked units the composition took out
    pool_extra: I64 = field(init=False)  # units beyond stock that any shop may take
    share_base_extra: I64 = field(init=False)  # bundles the components could make
    share_base_less: I64 = field(init=False)  # component units left for bundles
    pool: I64 = field(init=False)  # units the solver places
    share_base: I64 = field(init=False)  # what shares apply to
    free_idle: I64 = field(init=False)
    share_rule: I64 = field(init=False)
    shared: Mask = field(init=False)
    limit_rule: I64 = field(init=False)  # per shop: the shop_capacity rule in force
    budget_rule: I64 = field(init=False)  # per shop: the value_budget rule in force

    # Per cell ------------------------------------------------------------------
    lb: I64 = field(init=False)
    ub: I64 = field(init=False)
    floor: I64 = field(init=False)
    target: I64 = field(init=False)
    lb_rule: I64 = field(init=False)
    ub_rule: I64 = field(init=False)
    floor_rule: I64 = field(init=False)
    target_rule: I64 = field(init=False)
    exact: Mask = field(init=False)  # fixed cells: shares skip them
    in_shared: Mask = field(init=False)
    pinned_extra: I64 = field(init=False)  # units beyond warehouse stock pinned here
    restricted: Mask = field(init=False)  # the cell's shop misses a supplying warehouse
    velocity: F64 = field(init=False)

    def __post_init__(self) -> None:
        n_s, n_c = self.ix.n_skus, self.ix.n_cells
        for name in (
            "sellable",
            "unreachable",
            "virtual",
            "locked_taken",
            "pool_extra",
            "share_base_extra",
            "share_base_less",
            "pool",
            "share_base",
            "free_idle",
        ):
            setattr(self, name, _full(n_s))
        self.reserved = {}
        self.share_rule = _full(n_s, NONE)
        self.shared = np.zeros(n_s, dtype=bool)
        self.limit_rule = _full(self.ix.n_shops, NONE)
        self.budget_rule = _full(self.ix.n_shops, NONE)
        big = np.iinfo(np.int64).max // 4
        self.lb, self.ub = _full(n_c), _full(n_c, big)
        self.floor, self.target = _full(n_c), _full(n_c)
        for name in ("lb_rule", "ub_rule", "floor_rule", "target_rule"):
            setattr(self, name, _full(n_c, NONE))
        self.exact = np.zeros(n_c, dtype=bool)
        self.in_shared = np.zeros(n_c, dtype=bool)
        self.pinned_extra = _full(n_c)
        self.restricted = np.zeros(n_c, dtype=bool)
        self.velocity = self.ix.velocity.copy()

    # --- rules ----------------------------------------------------------------------

    def rule(self, k: int) -> RuleBase:
        return self.ruleset.rules[k]

    def label(self, k: int) -> str:
        return self.ruleset.label(k)

    def of_kind(self, *kinds: Kind) -> list[int]:
        return [k for k in self.active if self.rule(k).kind in kinds]

    def of_type(self, *types: str) -> list[int]:
        return [k for k in self.active if getattr(self.rule(k), "type", "") in types]

    def win(self, rules: list[int], size: int, mask_of: object) -> I64:
        cands = [(k, self.rule(k).scope.specificity(), self.rule(k).priority) for k in rules]
        return winners(size, cands, mask_of)  # type: ignore[arg-type]

    def cell_rule_mask(self, k: int, shops: list[str] | None = None) -> Mask:
        """Cells a rule applies to: its scope, narrowed to `shops` when given."""
        mask = self.ix.cell_mask(self.rule(k).scope)
        if shops is not None:
            mask &= self.ix.shops_named(shops)[self.ix.cell_shop]
        return mask

    def warn(self, code: str, k: int | None, message: str) -> None:
        self.warnings.append(
            PlanWarning(code=code, rule=None if k is None else self.label(k), message=message)
        )

    def conflict(self, rules: list[int], skus: I64, detail: str) -> None:
        names = sorted({self.label(k) for k in rules if k != NONE})
        ids = [self.ix.sku_ids[i] for i in skus[:10]]
        more = f" (and {skus.size - 10} more SKUs)" if skus.size > 10 else ""
        self.conflicts.append(Conflict(rules=names, skus=ids, detail=detail + more))

    # --- bounds with provenance -------------------------------------------------------

    def set_ub(self, cells: Mask, value: I64, k: int | I64) -> None:
        tighter = cells & (value < self.ub)
        self.ub = np.where(tighter, value, self.ub)
        self.ub_rule = np.where(tighter, k, self.ub_rule)

    def raise_lb(self, cells: Mask, add: I64, k: int) -> None:
        grows = cells & (add > 0)
        self.lb = np.where(grows, self.lb + add, self.lb)
        self.target = np.where(grows, self.target + add, self.target)
        self.lb_rule = np.where(grows, k, self.lb_rule)

    def per_sku(self, values: NDArray[np.generic]) -> I64:
        return np.bincount(self.ix.cell_sku, weights=values, minlength=self.ix.n_skus).astype(
            np.int64
        )
