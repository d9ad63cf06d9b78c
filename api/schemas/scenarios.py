"""Models of the scenario routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body
from pydantic import BaseModel

from api.schemas.common import Document
from api.schemas.jobs import JobOut

_EXAMPLE: dict[str, Any] = {
    "description": "Double-11: peak mode and 3x demand on Nov 11-12",
    "simulation": {"horizon_days": 14, "replan_every_days": 7, "seed": 1},
    "variants": [
        {"name": "peak", "mode": "peak"},
        {
            "name": "peak-uplift",
            "mode": "peak",
            "overrides": [
                {"op": "uplift", "factor": 3, "dates": {"from": "2026-11-11", "to": "2026-11-12"}}
            ],
        },
    ],
}
ScenarioBody = Annotated[Document, Body(examples=[_EXAMPLE])]


class ScenarioRunOut(BaseModel):
    id: str
    job: JobOut | None  # None once the job record has expired; the results stay
    comparison: dict[str, Any] | None = None  # set when the run has finished
    notes: list[str] | None = None
    charts: dict[str, str] | None = None  # chart name -> URL of the PNG
