"""What one scenario variant plays: the inputs after its overrides, as plain values.

The scenario file (engine/scenarios/format.py) turns YAML into these; the simulator
(engine/scenarios/simulate.py) plays them day by day. Keeping the hand-over this small
lets either side change without the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from engine.core.modes import Mode
from engine.core.snapshot import Snapshot
from rules.catalog import Ruleset

PlannerName = Literal["omnistock", "incumbent"]
# What the planners know of demand by default (the file's `simulation.demand_knowledge`):
# "true": the means the world draws from; "history": only the sales the shops recorded.
DemandKnowledge = Literal["true", "history"]
# Where a planner's velocity comes from (a variant's `planner_velocity`): the true means,
# the naive 14-day average of recorded sales, or the demand estimator (engine/demand).
PlannerVelocity = Literal["true", "naive", "estimated"]


@dataclass(frozen=True)
class Uplift:
    """Demand multiplier on the days first_day..last_day (0-based, inclusive) of the horizon.

    A selector left as None matches everything; the factors of overlapping uplifts multiply.
    `planned` says whether the planner knows of it (its velocity is raised on those days
    when it re-plans), as for a campaign, or not, as for a surprise.
    """

    factor: float
    first_day: int
    last_day: int
    shops: tuple[str, ...] | None = None
    categories: tuple[str, ...] | None = None
    skus: tuple[str, ...] | None = None
    planned: bool = True


@dataclass(frozen=True)
class Arrival:
    """Units put on hand in a warehouse at the start of a day (0-based) of the horizon."""

    sku: str
    warehouse: str
    quantity: int
    day: int


@dataclass(frozen=True)
class IncumbentPolicy:
    """The incumbents' per-shop formula: floor(pool x share%) - safety, each shop alone.

    `shares` maps shop id -> percent; a shop not in it gets `default_share_pct`. The pool
    is the SKU's sellable pool as omnistock derives it from the same snapshot and ruleset
    (stock composition and warehouse rules), so both planners start from the same units.
    """

    shares: dict[str, float] = field(default_factory=dict)
    default_share_pct: float = 100.0
    safety_stock: int = 0


@dataclass(frozen=True)
class SimulationSettings:
    horizon_days: int = 30
    replan_every_days: int | None = 7  # None: the day-0 plan stands for the whole horizon
    seed: int = 1
    replications: int = 1
    # "true" here (the simulator's long-standing behaviour); a scenario file without the
    # key says "history" (engine/scenarios/format.py).
    demand_knowledge: DemandKnowledge = "true"
    warmup_days: int = 56  # sales history drawn before day 0 (history.py)

    def velocity_of(self, inputs: VariantInputs) -> PlannerVelocity:
        """Where the variant's planner takes its velocity from."""
        if inputs.planner_velocity is not None:
            return inputs.planner_velocity
        return "true" if self.demand_knowledge == "true" else "estimated"


@dataclass(frozen=True)
class VariantInputs:
    name: str
    snapshot: Snapshot  # overrides applied: stock deltas, shops opened
    ruleset: Ruleset  # overrides applied: rules added, removed or replaced, shops closed
    mode: Mode
    planner: PlannerName = "omnistock"
    incumbent: IncumbentPolicy | None = None  # set when planner == "incumbent"
    uplifts: tuple[Uplift, ...] = ()
    arrivals: tuple[Arrival, ...] = ()
    closed_shops: frozenset[str] = frozenset()  # list nothing; their demand is lost
    # None: as the settings' demand_knowledge says (SimulationSettings.velocity_of)
    planner_velocity: PlannerVelocity | None = None


@dataclass
class VariantResult:
    name: str
    planner: PlannerName
    mode: str
    kpis: dict[str, float]  # KPI name (kpis.KPIS) -> mean over replications
    spread: dict[str, float]  # KPI name -> standard deviation (0.0 for one replication)
    sell_through_by_shop: dict[str, float]  # shop -> units sold / units listed over time
    lost_by_shop_day: dict[str, list[float]]  # shop -> lost units per day (mean)
    sold_by_shop_day: dict[str, list[float]]  # shop -> units sold per day (mean)
    plans_made: int  # plans (or incumbent syncs) per replication
    seconds: float  # wall time of the variant
    # Added by the simulator (defaulted, so existing constructors still work): e.g. a
    # re-plan whose hard rules conflicted, after which the previous listings stood.
    warnings: list[str] = field(default_factory=list)
    # Where omnistock's velocity came from (history.py); None for the incumbents, whose
    # formula reads none.
    planner_velocity: PlannerVelocity | None = None
