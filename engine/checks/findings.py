"""What the check reports: one warning per problem, with a severity and a fix."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

WarningCode = Literal["oversell_risk", "stranded_stock", "drift", "dead_listing"]
Severity = Literal["high", "medium", "low"]
SEVERITY_RANK: dict[str, int] = {"high": 3, "medium": 2, "low": 1}


class StockWarning(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: WarningCode
    severity: Severity
    sku: str
    shop: str | None  # None: the SKU as a whole
    source: Literal["listed", "plan"]  # what is at fault: the listings or the plan
    message: str
    fix: str


class CheckThresholds(BaseModel):
    """When a difference is worth a warning."""

    model_config = ConfigDict(extra="forbid", strict=True)

    # A listing below the plan by more than max(units, share x plan) is drift.
    drift_units: Annotated[int, Field(ge=0)] = 5
    drift_share: Annotated[float, Field(ge=0, le=1)] = 0.2
    # A shop with sales and less than this many days of listed cover is running out.
    runout_days: Annotated[float, Field(ge=0, le=365)] = 3.0
    # Days of sales a suggested move of stock aims to cover.
    cover_days: Annotated[float, Field(gt=0, le=365)] = 14.0


def at_least(warnings: list[StockWarning], severity: Severity) -> list[StockWarning]:
    return [w for w in warnings if SEVERITY_RANK[w.severity] >= SEVERITY_RANK[severity]]
