"""Models of the report routes: a report asked for, a build with its report and files'
URLs, recipients, schedules, deliveries and the delivery log."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.schemas.common import Strict
from api.schemas.jobs import JobOut

# A brand as the snapshot names it (engine/core/snapshot.py's ids), a build id (uuid4 hex).
BrandId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00/]+$")]
BUILD_ID_PATTERN = r"^[0-9a-f]{32}$"
Lang = Literal["zh", "en"]
ReportKind = Literal["campaign", "monthly"]
# Dates of this era: a window outside it is no report (and no database's date either).
Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2999, 12, 31))]


class ReportRequest(Strict):
    """Build a brand's report of a window (`from`..`to`, both included). The figures are
    computed now (a bad window or brand is a 422 naming the field); the files are drawn
    by a job."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={
            "examples": [{"brand": "b1", "from": "2026-11-10", "to": "2026-11-12", "lang": "zh"}]
        },
    )

    brand: BrandId
    start: Day = Field(alias="from")
    end: Day = Field(alias="to")
    kind: ReportKind = "campaign"
    lang: Lang = "zh"


class ReportBuildOut(BaseModel):
    id: str
    brand: str
    kind: str
    start: str
    end: str
    lang: str
    status: str  # queued | running | done | failed
    created_at: str
    created_by: str
    finished_at: str | None
    error: str | None
    # The report's sections, figures, tables and definitions (once done).
    report: dict[str, Any] | None = None
    urls: dict[str, str]


class ReportStarted(BaseModel):
    report: ReportBuildOut
    job: JobOut


class TargetOutcomeOut(BaseModel):
    channel: str
    target: str
    outcome: str  # sent | already_sent | failed
    attempts: int
    reason: str | None


class SendOut(BaseModel):
    """Where the report went: every recipient's outcome (a target that had the report of
    this window already is `already_sent`, not sent again)."""

    key: str
    outcomes: list[TargetOutcomeOut]


Target = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=r"^[^\x00]+$")]


class RecipientRequest(Strict):
    """A mail address or a chat robot's webhook (WeCom, DingTalk) that gets a brand's
    reports of a kind (`all`: every kind)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"brand": "b1", "channel": "mail", "target": "ops@brand.example"}]
        },
    )

    brand: BrandId
    channel: Literal["mail", "wecom", "dingtalk"] = "mail"
    target: Target
    kind: Literal["campaign", "monthly", "all"] = "all"
    secret: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None


class RecipientOut(BaseModel):
    id: int
    brand: str
    kind: str
    channel: str
    target: str  # a robot's token cut
    signed: bool
    created_at: str


class ScheduleRequest(Strict):
    """When a brand's report is due: `after_window` (a campaign's `from`..`to`, the day
    after it ends), `monthly` (on `day` of each month, of the month before) or
    `on_demand` (once, now)."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "brand": "b1",
                    "rule": "after_window",
                    "from": "2026-11-10",
                    "to": "2026-11-12",
                    "label": "Double-11",
                }
            ]
        },
    )

    brand: BrandId
    rule: Literal["after_window", "monthly", "on_demand"]
    kind: ReportKind | None = None
    start: Day | None = Field(default=None, alias="from")
    end: Day | None = Field(default=None, alias="to")
    day: Annotated[int, Field(ge=1, le=28)] | None = None
    lang: Lang = "zh"
    label: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None


class ScheduleOut(BaseModel):
    id: int
    brand: str
    kind: str
    rule: str
    start: str | None
    end: str | None
    day: int | None
    lang: str
    label: str | None
    active: bool
    created_at: str


class DeliveryOut(BaseModel):
    """One attempt to deliver a report to one target."""

    model_config = ConfigDict(extra="allow")

    key: str
    brand: str
    channel: str
    target: str
    attempt: int
    outcome: str
    reason: str | None
    at: str
