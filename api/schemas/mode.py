"""Models of the mode routes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from api.schemas.common import Strict
from engine.core.modes import Mode


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
    start: str | None = None
    end: str | None = None


class ModeOut(BaseModel):
    mode: Mode
    start: str | None
    end: str | None
    effective: Mode
