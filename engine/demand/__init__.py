"""Demand from sales history: a rate (units per day) per (SKU, shop) cell, estimated
from daily sales in which stockout days are censored (demand at least the sales), with
its uncertainty and dispersion. Imports engine.core, numpy and scipy only.

The planner's entry: `with_history(index)` (or `velocity_for(index)` for the arrays)."""

from engine.demand.cells import forecast, history_of, velocity_for, with_history
from engine.demand.estimate import (
    DemandEstimate,
    DemandHistory,
    EstimatorSettings,
    estimate_demand,
    naive_rate,
)

__all__ = [
    "DemandEstimate",
    "DemandHistory",
    "EstimatorSettings",
    "estimate_demand",
    "forecast",
    "history_of",
    "naive_rate",
    "velocity_for",
    "with_history",
]
