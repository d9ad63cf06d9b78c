"""The compile step's working state: per-SKU and per-cell arrays that the stages
(supply, bounds, targets, couplings) fill in turn, with the rule behind each number.

Private to the compile step: what plans and explanations read of it is handed over
once, frozen, as the compiled problem's provenance (rules/provenance.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.core.errors import Conflict
from engine.core.index import SnapshotIndex
from engine.core.modes import PEAK, Mode
from engine.core.plan import PlanWarning
from rules.arith import winners
from rules.catalog import CampaignWindow, Kind, RuleBase, Ruleset
from rules.worth import WorthAsked

I64 = NDArray[np.int64]
I32 = NDArray[np.int32]
F64 = NDArray[np.float64]
Mask = NDArray[np.bool_]
NONE = -1


def _full(n: int, value: int = 0) -> I64:
    # np.zeros rather than np.full: calloc can hand out pages that are zero already.
    return np.zeros(n, dtype=np.int64) if value == 0 else np.full(n, value, dtype=np.int64)


def _at(value: Any, cells: NDArray[Any]) -> Any:
    """A per-cell argument at some cells: arrays are indexed, scalars stay."""
    return value[cells] if isinstance(value, np.ndarray) and value.ndim else value


def active_rules(ruleset: Ruleset, index: SnapshotIndex) -> list[int]:
    """Rules in force at the snapshot's `as_of`, campaign windows applied."""
    moment = index.as_of
    windows: dict[str, list[CampaignWindow]] = {}
    for rule in ruleset.rules:
        if isinstance(rule, CampaignWindow):
            for name in rule.rules:
                windows.setdefault(name, []).append(rule)
    return [
        k
        for k, rule in enumerate(ruleset.rules)
        if rule.kind is not Kind.WINDOW
        and rule.active_at(moment)
        and all(w.active_at(moment) for w in windows.get(rule.id or "", []))
    ]


@dataclass
class Draft:
    ix: SnapshotIndex
    ruleset: Ruleset
    active: list[int]
    peak: Mask  # per SKU: in peak mode (the plan's mode, or a peak_mode rule)
    warnings: list[PlanWarning] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    # Cells whose units the solver prices by worth (expected_sales), rule by rule.
    worth: list[WorthAsked] = field(default_factory=list)

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
    exclusive: Mask = field(init=False)  # exclusive_when_low gives the SKU to one shop
    limit_rule: I64 = field(init=False)  # per shop: the shop_capacity rule in force
    budget_rule: I64 = field(init=False)  # per shop: the value_budget rule in force

    # Per cell ------------------------------------------------------------------
    lb: I64 = field(init=False)
    ub: I64 = field(init=False)
    floor: I64 = field(init=False)
    target: I64 = field(init=False)
    # Which rule set each bound (NONE: none). Rule positions fit int32: half the
    # memory of four per-cell arrays.
    lb_rule: I32 = field(init=False)
    ub_rule: I32 = field(init=False)
    floor_rule: I32 = field(init=False)
    target_rule: I32 = field(init=False)
    exact: Mask = field(init=False)  # fixed cells: shares skip them
    in_shared: Mask = field(init=False)
    pinned_extra: I64 = field(init=False)  # units beyond warehouse stock pinned here
    restricted: Mask = field(init=False)  # the cell's shop misses a supplying warehouse
    velocity: F64 = field(init=False)

    @classmethod
    def start(cls, index: SnapshotIndex, ruleset: Ruleset, mode: Mode) -> Draft:
        """The draft of the rules in force. In `peak` mode every SKU is in peak mode; in
        `normal` mode, the SKUs a peak_mode rule selects."""
        active = active_rules(ruleset, index)
        peak = np.full(index.n_skus, mode == PEAK)
        for k in active:
            if ruleset.rules[k].kind is Kind.PEAK:
                peak |= index.sku_mask(ruleset.rules[k].scope)
        return cls(index, ruleset, active, peak)

    def __post_init__(self) -> None:
        n_s, n_c = self.ix.n_skus, self.ix.n_cells
        for name in ("virtual", "pool_extra", "share_base_extra", "share_base_less"):
            setattr(self, name, _full(n_s))
        # Set whole by their stage (the pool step, shares, rounding) before anything
        # reads them: read-only zeros until then, so that no memory is filled for them
        # and a stage that wrote into them in place first would fail loudly.
        for name in ("sellable", "unreachable", "locked_taken", "pool", "share_base", "free_idle"):
            setattr(self, name, np.broadcast_to(np.int64(0), n_s))
        self.reserved = {}
        self.share_rule = _full(n_s, NONE)
        self.shared = np.zeros(n_s, dtype=bool)
        self.exclusive = np.zeros(n_s, dtype=bool)
        self.limit_rule = _full(self.ix.n_shops, NONE)
        self.budget_rule = _full(self.ix.n_shops, NONE)
        big = np.iinfo(np.int64).max // 4
        self.lb, self.ub = _full(n_c), _full(n_c, big)
        self.floor, self.target = _full(n_c), _full(n_c)
        for name in ("lb_rule", "ub_rule", "floor_rule", "target_rule"):
            setattr(self, name, np.full(n_c, NONE, dtype=np.int32))
        self.exact = np.zeros(n_c, dtype=bool)
        self.in_shared = np.zeros(n_c, dtype=bool)
        # Read-only zeros until a pin adds units (see `pin_extra`): most plans pin none.
        self.pinned_extra = np.broadcast_to(np.int64(0), n_c)
        self.restricted = np.broadcast_to(np.False_, n_c)  # set whole by the pool step
        # Shared with the index: stages replace the velocities, never change them in place.
        self.velocity = self.ix.velocity

    # --- rules ----------------------------------------------------------------------

    def rule(self, k: int) -> RuleBase:
        return self.ruleset.rules[k]

    def label(self, k: int) -> str:
        return self.ruleset.label(k)

    def of_kind(self, *kinds: Kind) -> list[int]:
        return [k for k in self.active if self.rule(k).kind in kinds]

    def run(self, stage: Stage) -> None:
        """A pipeline stage: each kind's handler, in the stage's order, on the active
        rules of that kind (rules of one kind compete by precedence)."""
        for kind, handler in stage.items():
            handler(self, self.of_kind(kind))

    def win(self, rules: list[int], size: int, mask_of: object) -> I64:
        cands = [(k, self.rule(k).scope.specificity(), self.rule(k).priority) for k in rules]
        return winners(size, cands, mask_of)  # type: ignore[arg-type]

    def won_cells(self, rules: list[int], mask_of: Callable[[int], Mask]) -> list[tuple[int, I64]]:
        """Per rule, the cells where it wins by precedence (see `win`)."""
        if len(rules) == 1:  # nothing to outrank: its own cells
            return [(rules[0], np.flatnonzero(mask_of(rules[0])))]
        won = self.win(rules, self.ix.n_cells, mask_of)
        return [(k, np.flatnonzero(won == k)) for k in rules]

    def cell_rule_mask(self, k: int, shops: list[str] | None = None) -> Mask:
        """Cells a rule applies to: its scope, narrowed to `shops` when given."""
        scope = self.rule(k).scope
        in_shops = self.ix.shop_mask(scope)
        if shops is not None:
            in_shops &= self.ix.shops_named(shops)
        return self.ix.cells_where(self.ix.sku_mask(scope), in_shops)

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

    # The per-cell arrays are the draft's own (never shared until the Problem is built),
    # so the bounds change in place, at the cells concerned only.

    def set_ub(self, cells: Mask, value: I64 | int, k: int | I64) -> None:
        at = np.flatnonzero(cells)
        self.tighten_ub(at, _at(value, at), _at(k, at))

    def tighten_ub(self, at: I64, value: I64 | int, k: int | I64) -> None:
        """`set_ub` at the cells `at`, with `value` and `k` given for those cells."""
        tighter = value < self.ub[at]
        cells = at[tighter]
        self.ub[cells] = _at(value, tighter)
        self.ub_rule[cells] = _at(k, tighter)

    def pin_extra(self, cells: I64 | Mask, units: I64) -> None:
        """Units beyond warehouse stock pinned to cells."""
        if not self.pinned_extra.flags.writeable:
            self.pinned_extra = np.zeros(self.ix.n_cells, dtype=np.int64)
        self.pinned_extra[cells] += units

    def raise_lb(self, cells: Mask, add: I64, k: int) -> None:
        at = np.flatnonzero(cells)
        self.raise_lb_at(at, add[at], k)

    def raise_lb_at(self, at: I64, add: I64, k: int) -> None:
        """`raise_lb` at the cells `at`, with `add` given for those cells."""
        grows = add > 0
        at, add = at[grows], add[grows]
        self.lb[at] += add
        self.target[at] += add
        self.lb_rule[at] = k

    def per_sku(self, values: NDArray[np.generic]) -> I64:
        """Sum over each SKU's cells, as whole units (float sums are truncated)."""
        if values.dtype.kind in "biu":
            return self.ix.by_sku.sum(values)
        return self.ix.by_sku.fsum(values).astype(np.int64)


# A pipeline stage as data: per rule kind, in the order they apply, the handler that
# applies the kind's active rules (given in file order).
Stage = Mapping[Kind, Callable[[Draft, list[int]], None]]
