"""Models of the plan routes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from api.schemas.common import Strict
from api.schemas.errors import links
from engine.core.modes import Mode
from engine.services.plan_jobs import RunAs


class PlanRequest(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [{"mode": "peak", "run": "auto"}]})
    mode: Mode | None = None  # default: the mode in force
    # auto: answer now up to the configured size, else start a job; now / job: force it
    run: RunAs = "auto"


class PlanOut(BaseModel):
    plan_id: str
    stock_version: int  # the stock version the plan was computed on
    ruleset_version: int
    brand: str | None  # set when cut to a brand viewer's brand
    plan: dict[str, Any]


class CellStoryOut(BaseModel):
    shop: str
    quantity: int
    shared: int
    why: str


class SkuStoryOut(BaseModel):
    sku: str
    pool_lines: list[str]
    cells: list[CellStoryOut]
    unallocated: list[str]


# Where a plan's id leads (OpenAPI links of the answer that makes one).
PLAN_LINKS = links(
    "plan_id", ("get-plan", "plan_id"), ("explain-sku", "plan_id"), ("publish-plan", "plan_id")
)
