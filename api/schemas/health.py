"""Models of the health routes (liveness and readiness; /metrics is Prometheus text)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class Alive(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    """200 when everything the service needs answers, else 503 with the same body."""

    status: Literal["ok", "unavailable"]
    store: bool  # the state store answers
    queue: bool  # the job queue answers
    keys: bool  # API keys can be checked (the key file is there and readable)
