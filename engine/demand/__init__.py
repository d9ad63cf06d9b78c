"""Demand from sales history: a rate (units per day) per (SKU, shop) cell, estimated
from daily sales in which stockout days are censored (demand at least the sales), with
its uncertainty and dispersion. Imports engine.core, numpy and scipy only."""

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
    "naive_rate",
]
