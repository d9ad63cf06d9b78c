"""Models of the mode routes."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, WithJsonSchema

from api.schemas.common import Strict
from engine.core.modes import Mode

# Read as text, and checked by the service (its 422 names the field); documented as what
# it takes: an ISO 8601 moment with a time zone, or "" for none.
Moment = Annotated[
    str,
    WithJsonSchema(
        {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "maxLength": 0}]}
    ),
]


class ModeRequest(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "mode": "peak",
                    "start": "2026-11-10T20:00:00+08:00",
                    "end": "2026-11-12T02:00:00+08:00",
                }
            ]
        },
    )
    mode: Mode
    start: Moment | None = None
    end: Moment | None = None


class ModeOut(BaseModel):
    mode: Mode
    start: str | None
    end: str | None
    effective: Mode
