"""How the sandbox marketplace behaves: who may call, the call limits, the review, and
the faults it injects. A YAML or JSON file (`omnistock sandbox serve --config FILE`):

    apps: {sandbox-app: sandbox-secret}      # app key -> secret
    shops: {pdd: [pdd-b1]}                   # optional: the shops (access tokens) it knows
    limits: {pdd: {pdd.goods.add: {per_second: 3, per_day: 1200}, "*": {per_second: 10}}}
    review: {polls: 2}                       # or {seconds: 5}
    banned_words: [最便宜]                   # review rejects titles with them
    refused_words: [国家级]                  # refused at submission (banned-word error)
    brand_authorisation: {pdd-b1: [Stridewell]}  # shop -> brands it may list
    fail_rate: 0.05                          # share of calls failing transiently
    timeout_share: 0.5                       # of those, the share that time out
    timeout_sleep_s: 2.0                     # how long a timed-out call sleeps
    drop_rate: 0.0                           # share of updates answered ok, not applied
    seed: 0
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.core.errors import InputError, Issue
from engine.core.io import dotted_path, read_document
from engine.listing.adapters.shapes import DEFAULT_LIMITS, PLATFORMS

__all__ = ["Limit", "Review", "SandboxConfig", "load_config"]

Share = Annotated[float, Field(ge=0.0, le=1.0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Limit(_Strict):
    """Calls one shop may make of one method; 0 refuses every call."""

    per_second: float = Field(default=float(2**31), ge=0)
    per_day: int = Field(default=2**62, ge=0)


class Review(_Strict):
    """When a listing's review ends: after `polls` reads of the item, or `seconds` after
    it was submitted when given."""

    polls: int = Field(default=2, ge=0, le=1000)
    seconds: float | None = Field(default=None, ge=0)


def _default_limits() -> dict[str, dict[str, Limit]]:
    return {
        platform: {m: Limit(per_second=s, per_day=d) for m, (s, d) in table.items()}
        for platform, table in DEFAULT_LIMITS.items()
    }


class SandboxConfig(_Strict):
    apps: dict[str, str] = Field(default_factory=lambda: {"sandbox-app": "sandbox-secret"})
    shops: dict[str, list[str]] | None = None
    limits: dict[str, dict[str, Limit]] = Field(default_factory=dict)
    review: Review = Review()
    banned_words: list[str] = []
    refused_words: list[str] = []
    brand_authorisation: dict[str, list[str]] = {}
    fail_rate: Share = 0.0
    timeout_share: Share = 0.5
    timeout_sleep_s: float = Field(default=2.0, ge=0, le=600)
    drop_rate: Share = 0.0
    seed: int = 0
    max_body_bytes: int = Field(default=2_000_000, ge=1)

    def limit(self, platform: str, method: str) -> Limit:
        """A method's limit: its own entry, else the platform's "*", from this file over
        the defaults (engine/listing/adapters/shapes.py DEFAULT_LIMITS)."""
        mine, default = self.limits.get(platform, {}), _default_limits().get(platform, {})
        for table in (mine, default):
            for key in (method, "*"):
                if key in table:
                    return table[key]
        return Limit()


def parse_config(doc: Any, source: str = "sandbox config") -> SandboxConfig:
    """A config from a document; InputError with every problem, by its key."""
    if doc is None:
        doc = {}
    try:
        config = SandboxConfig.model_validate(doc)
    except ValidationError as error:
        issues = [Issue(dotted_path(e["loc"]), e["msg"]) for e in error.errors()]
        raise InputError(issues, source) from None
    unknown = [p for p in [*config.limits, *(config.shops or {})] if p not in PLATFORMS]
    if unknown:
        known = ", ".join(PLATFORMS)
        raise InputError([Issue(p, f"unknown platform: {known}") for p in unknown], source)
    return config


def load_config(path: Path) -> SandboxConfig:
    return parse_config(read_document(path), str(path))
