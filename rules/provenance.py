"""Where the compiled problem's numbers come from: which rule set each bound, floor and
target of a cell, how each SKU's pool was derived (sellable stock, reserves, virtual
units, the share rule that split it), which rule limits each shop, and the compile
warnings.

Built once at the end of the compile step from its working state, and read-only from
then on: plan assembly and the explanations of unlisted units read this, never the
compiler's working state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar

from numpy.typing import NDArray

from engine.core.plan import PlanWarning
from rules.draft import I32, I64, Draft

A = TypeVar("A", bound=NDArray[Any])


def _frozen(values: A) -> A:
    """A read-only view (no copy): the compiler's arrays, not to be changed by readers."""
    view = values.view()
    view.flags.writeable = False
    return view


@dataclass(frozen=True)
class Provenance:
    # Per cell: the rule that set each number (NONE: no rule).
    lb_rule: I32
    ub_rule: I32
    floor_rule: I32
    target_rule: I32
    # Per SKU: the pool derivation, sellable - reserved + virtual = pool.
    sellable: I64  # reachable sellable units (with the locked units a shop lock returns)
    unreachable: I64  # sellable units no shop may receive
    reserved: Mapping[int, I64]  # rule -> units it held back
    virtual: I64  # units beyond stock (virtual stock, presale)
    pool: I64  # units the solver places
    share_rule: I64  # the share rule that split the pool (NONE: the default split)
    # Per shop: the shop_capacity and the value_budget rule in force (NONE: none).
    limit_rule: I64
    budget_rule: I64
    warnings: tuple[PlanWarning, ...]

    @classmethod
    def of(cls, d: Draft) -> Provenance:
        return cls(
            lb_rule=_frozen(d.lb_rule),
            ub_rule=_frozen(d.ub_rule),
            floor_rule=_frozen(d.floor_rule),
            target_rule=_frozen(d.target_rule),
            sellable=_frozen(d.sellable),
            unreachable=_frozen(d.unreachable),
            reserved=MappingProxyType({k: _frozen(v) for k, v in d.reserved.items()}),
            virtual=_frozen(d.virtual),
            pool=_frozen(d.pool),
            share_rule=_frozen(d.share_rule),
            limit_rule=_frozen(d.limit_rule),
            budget_rule=_frozen(d.budget_rule),
            warnings=tuple(d.warnings),
        )
