"""Models of the scenario routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body
from pydantic import BaseModel

from api.schemas.common import Document, SchemaOf
from api.schemas.errors import links
from api.schemas.jobs import JOB_LINKS, JobOut
from engine.core.modes import Mode
from engine.scenarios.format import Scenario, StrictModel

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


class StoredBase(StrictModel):
    """A scenario's base in the service: the tenant's stored snapshot and latest ruleset,
    never files on the server; `mode` as in the file (default: the snapshot's own)."""

    mode: Mode | None = None


class ScenarioRequest(Scenario):
    """The scenario file format (engine/scenarios/format.py) as the service takes it:
    the engine's Scenario, whose base names no files. Documentation only: the engine
    parses the body (and refuses base files with a 422 naming them)."""

    base: StoredBase = StoredBase()  # type: ignore[assignment]


ScenarioBody = Annotated[Document, SchemaOf(ScenarioRequest), Body(examples=[_EXAMPLE])]


class ScenarioRunOut(BaseModel):
    id: str
    job: JobOut | None  # None once the job record has expired; the results stay
    comparison: dict[str, Any] | None = None  # set when the run has finished
    notes: list[str] | None = None
    charts: dict[str, str] | None = None  # chart name -> URL of the PNG


# Where a run's id leads: the run, and its job.
RUN_LINKS = {**links("id", ("get-scenario-run", "run_id")), **JOB_LINKS}
