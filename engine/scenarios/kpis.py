"""The KPIs of a scenario variant, one number each for the horizon, and their registry
(`KPIS`): what the simulator measures, the comparison tabulates and the charts draw.

Terms. A *cell* is a (SKU, shop) pair of one brand. On each day, in this order: arrivals
come in, the plan is made or re-made when due, then every cell's demand meets its
listing. Within a day, cells are served one after another in cell order (SKU, then shop
priority, then shop id): that is how shops of one SKU contend for the shared part and for
the last physical units. *Physical stock* is the units of a SKU that exist and may sell,
as omnistock's pool derivation counts them (sellable composition units in supplying
warehouses, plus locked units a `shop_lock` gives back); *supply* adds the presale units
(`virtual_stock`, `preorder_cap`) of the plan in force. A shop's *listing* is its
exclusive quantity plus, when the plan gives it access, the SKU's shared part (one pool
shown on several shops: a sale from it lowers it on all of them). An order is *accepted*
when the listing has a unit for it; an accepted order lowers the listing.

- units_listed_day0: units the first plan (day 0) publishes: the exclusive quantities on
  the open shops plus each SKU's shared part once (the incumbents: the sum of their
  listings, however far above the pool).
- units_sold: accepted orders served from the SKU's supply (physical stock in the
  warehouses that supply the shop first, then presale units), summed over cells and
  days. A bundle sold counts as one unit; it takes its own stock first, then `qty` of
  each component.
- revenue: units_sold x the SKU's price, in the snapshot's currency.
- lost_sales: demand not accepted (no listed unit left), closed shops' demand included.
- avoidable_lost_sales: demand lost on an open shop on a day while physical stock of the
  SKU that the shop could have sold (in the warehouses that supply it) sat unsold at the
  end of that day, listed on other shops or unallocated alike: per SKU and day, the
  shops' lost demand, in cell order, each capped by what is left of that stock after
  the earlier shops' avoidable units (for a bundle, the stock counts its own units plus
  what the components left could make). Had those units been on the shop that lost the
  sale, it would have sold. Closed shops' demand is never avoidable.
- units_oversold: accepted orders beyond the supply the shop could ship from at the
  moment of the order (physical stock in the warehouses that supply the shop, then
  presale units): taken by the shop, never shipped (cancelled later). omnistock's
  listings never exceed its pool, so it never oversells; the incumbents' can.
- oversell_attempts_prevented: demand refused on an open shop (its listing had no unit
  left) that the SKU's remaining supply the shop could ship from (physical stock in its
  warehouses + presale units), right after that shop's own orders of the day, could not
  have served either: max(0, refused - that supply) per cell and day. Accepting it would
  have been an oversell; the listing kept it out. Disjoint from the avoidable part of
  lost_sales.
- stranded_units_end: per SKU, max(0, physical stock at the end of the horizon - units the
  listings in force at the end cover), summed. Coverage counts the exclusive quantities
  on open shops, the shared part once, and for a component the units its bundles'
  listings would draw beyond the bundles' own stock (`qty` each).
- unsold_units_end: physical stock at the end of the horizon, summed over SKUs, listed or
  not (a bundle's own units and the components alike, each as itself): what the
  horizon's demand left. stranded_units_end is the part of it no listing covers.
- cover_days_start: the pool on day 0 (the plan's units_pool: sellable + presale units,
  summed over SKUs) / the expected demand of the open shops on day 0 (velocity x the
  uplifts of that day, summed over cells), in days. 0 when there is no demand.
- cover_days_end: the supply left at the end of the last day (physical + unused presale)
  / the expected demand of the open shops on the last day. 0 when there is no demand.
- pool_utilisation: units_listed_day0 / the pool on day 0 (above 1 when the listings
  promise more than exists).
- sell_through: units_sold / (physical stock at the start of day 0 + units arrived +
  presale units sold).

Per shop: sell_through_by_shop = units sold on the shop / units offered on it, where a
cell's offer is its day-0 listing plus every increase a later plan made to its listing
(the shared part counts on every shop that shows it); lost_by_shop_day and
sold_by_shop_day give lost_sales and units_sold per shop and day.

Every KPI is the mean over the replications; `spread` is the sample standard deviation
over them (0.0 for one replication).

A KPI is one entry of `KPIS` (its definition above, its count in `Totals` where it needs
one); the simulator, the comparison (compare.py) and the charts (charts.py) read it there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from engine.scenarios.spec import PlannerName, VariantResult

F64 = NDArray[np.float64]

# How a KPI's numbers read: units and money as counts, days with one decimal, a share
# in percent (and a difference of two shares in points).
Unit = Literal["units", "money", "days", "share"]


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else 0.0


@dataclass
class Totals:
    """One replication's raw counts, from which its KPIs follow."""

    days: int
    n_shops: int
    units_listed_day0: float = 0.0
    pool_day0: float = 0.0
    physical_start: float = 0.0
    arrived: float = 0.0
    presold: float = 0.0
    units_sold: float = 0.0
    revenue: float = 0.0
    lost_sales: float = 0.0
    avoidable_lost_sales: float = 0.0
    units_oversold: float = 0.0
    oversell_attempts_prevented: float = 0.0
    stranded_units_end: float = 0.0
    unsold_units_end: float = 0.0
    demand_rate_start: float = 0.0
    supply_end: float = 0.0
    demand_rate_end: float = 0.0
    sold_by_shop_day: F64 = field(init=False)
    lost_by_shop_day: F64 = field(init=False)
    offered_by_shop: F64 = field(init=False)

    def __post_init__(self) -> None:
        self.sold_by_shop_day = np.zeros((self.days, self.n_shops))
        self.lost_by_shop_day = np.zeros((self.days, self.n_shops))
        self.offered_by_shop = np.zeros(self.n_shops)

    def kpis(self) -> dict[str, float]:
        return {kpi.name: float(kpi.of(self)) for kpi in KPIS}

    def sell_through_by_shop(self) -> F64:
        sold = self.sold_by_shop_day.sum(axis=0)
        out = np.zeros(self.n_shops)
        np.divide(sold, self.offered_by_shop, out=out, where=self.offered_by_shop > 0)
        return out


@dataclass(frozen=True)
class Kpi:
    """One KPI: how it reads, which way is better, whether it is charted, and its value
    in one replication."""

    name: str
    unit: Unit
    # Which way the KPI should move; None: neither way is better in itself (the table
    # leaves its deltas uncoloured).
    better: Literal["higher", "lower"] | None
    chart: bool  # a panel of its own in the KPI chart (kpis.png)
    of: Callable[[Totals], float]

    @property
    def higher_is_better(self) -> bool | None:
        return None if self.better is None else self.better == "higher"


# In the order every output lists them.
KPIS = (
    # Neutral: the incumbents list beyond the pool, so more is not better.
    Kpi("units_listed_day0", "units", None, chart=False, of=lambda t: t.units_listed_day0),
    Kpi("units_sold", "units", "higher", chart=True, of=lambda t: t.units_sold),
    Kpi("revenue", "money", "higher", chart=True, of=lambda t: round(t.revenue, 2)),
    Kpi("lost_sales", "units", "lower", chart=True, of=lambda t: t.lost_sales),
    Kpi("avoidable_lost_sales", "units", "lower", chart=True, of=lambda t: t.avoidable_lost_sales),
    Kpi("units_oversold", "units", "lower", chart=True, of=lambda t: t.units_oversold),
    # Neutral: it counts refusals as much as protection.
    Kpi(
        "oversell_attempts_prevented",
        "units",
        None,
        chart=False,
        of=lambda t: t.oversell_attempts_prevented,
    ),
    Kpi("stranded_units_end", "units", "lower", chart=True, of=lambda t: t.stranded_units_end),
    Kpi("unsold_units_end", "units", "lower", chart=True, of=lambda t: t.unsold_units_end),
    # Neutral: days of cover are stock left over as much as safety.
    Kpi(
        "cover_days_start",
        "days",
        None,
        chart=False,
        of=lambda t: _ratio(t.pool_day0, t.demand_rate_start),
    ),
    Kpi(
        "cover_days_end",
        "days",
        None,
        chart=False,
        of=lambda t: _ratio(t.supply_end, t.demand_rate_end),
    ),
    # Neutral: above 1 promises units that do not exist.
    Kpi(
        "pool_utilisation",
        "share",
        None,
        chart=True,
        of=lambda t: _ratio(t.units_listed_day0, t.pool_day0),
    ),
    Kpi(
        "sell_through",
        "share",
        "higher",
        chart=True,
        of=lambda t: _ratio(t.units_sold, t.physical_start + t.arrived + t.presold),
    ),
)
KPI_NAMES = tuple(kpi.name for kpi in KPIS)
KPI = {kpi.name: kpi for kpi in KPIS}


def _spread(values: F64) -> float:
    return float(np.std(values, ddof=1)) if values.size > 1 else 0.0


def summarise(
    name: str,
    planner: PlannerName,
    mode: str,
    shop_ids: list[str],
    replications: list[Totals],
    plans_made: int,
    seconds: float,
    warnings: list[str] | None = None,
) -> VariantResult:
    """Means and standard deviations over the replications."""
    table = np.array([[t.kpis()[k] for k in KPI_NAMES] for t in replications], dtype=float)
    through = np.mean([t.sell_through_by_shop() for t in replications], axis=0)
    lost = np.mean([t.lost_by_shop_day for t in replications], axis=0)
    sold = np.mean([t.sold_by_shop_day for t in replications], axis=0)
    return VariantResult(
        name=name,
        planner=planner,
        mode=mode,
        kpis={k: float(table[:, j].mean()) for j, k in enumerate(KPI_NAMES)},
        spread={k: _spread(table[:, j]) for j, k in enumerate(KPI_NAMES)},
        sell_through_by_shop={s: float(through[j]) for j, s in enumerate(shop_ids)},
        lost_by_shop_day={s: [float(v) for v in lost[:, j]] for j, s in enumerate(shop_ids)},
        sold_by_shop_day={s: [float(v) for v in sold[:, j]] for j, s in enumerate(shop_ids)},
        plans_made=plans_made,
        seconds=seconds,
        warnings=list(warnings or []),
    )
