"""Models of the listing routes: a listing or price job asked for (or its dry run), the
job with its progress, its items a page at a time, a read-back, and a resume."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from api.schemas.common import Strict
from api.schemas.errors import JobEndedDetail, links
from api.schemas.jobs import JobOut
from engine.core.snapshot import Money

# A brand, shop id or SKU code as the catalog spells them (engine/catalog/model.py Code).
Code = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class PriceRow(Strict):
    shop: Code
    sku: Code
    price: Money


class ListingRequest(Strict):
    """`publish`: list the brand's catalog products (those holding `skus`, else all) on
    its shops (`shops`, else all). `price`: set the prices in `prices`. Every item our
    own checks refuse (a field the platform's schema refuses, a price below its floor, a
    payload too large) is kept as refused, with the field and why, and never sent.
    `dry_run`: only show what would be sent; nothing is stored and no platform called."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"kind": "publish", "brand": "b1", "shops": ["tm-b1"], "dry_run": True},
                {
                    "kind": "price",
                    "brand": "b1",
                    "prices": [{"shop": "tm-b1", "sku": "B1-0002", "price": "799.00"}],
                },
            ]
        }
    )

    kind: Literal["publish", "price"]
    brand: Code
    shops: list[Code] | None = Field(default=None, min_length=1, max_length=10_000)
    skus: list[Code] | None = Field(default=None, min_length=1, max_length=1_000_000)
    prices: list[PriceRow] | None = Field(default=None, min_length=1, max_length=1_000_000)
    dry_run: StrictBool = False


class ResumeRequest(Strict):
    """`force`: resume a job whose status still says queued or running, when the run it
    names died (a run killed with its process leaves its job "running")."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"force": True}]})

    force: StrictBool = False


# --- answers ---------------------------------------------------------------------------


class EntryOut(BaseModel):
    shop: str
    outer_id: str  # the product's SPU code
    platform: str
    refused: bool
    field: str | None  # the field our checks refuse, when refused
    reason: str | None
    intent: dict[str, Any] | None = None  # the payload or update that would be sent


class PreviewOut(BaseModel):
    """A dry run: every item the job would hold, refused ones with the field and why."""

    kind: str
    brand: str
    items: int
    refused: int
    shops: list[str]
    entries: list[EntryOut]


class ShopProgressOut(BaseModel):
    done: int
    total: int
    states: dict[str, int]  # items per state


class ListingProgressOut(BaseModel):
    done: int
    total: int
    shops: dict[str, ShopProgressOut]


class ListingRecordOut(BaseModel):
    id: str
    kind: str  # publish | price | stock
    brand: str  # "*": a stock push of every brand
    status: str  # queued | running | finished | cancelled | interrupted
    cancel_requested: bool
    created_at: str | None
    created_by: str  # the key id that asked for it
    started_at: str | None
    ended_at: str | None
    runs: int
    options: dict[str, Any]  # a stock push: its held cells by reason
    summary: dict[str, Any]  # after a run: items per state, calls, a publish's read-back
    seconds: float  # spent running, summed over runs
    calls: int = 0  # platform calls made, summed over runs


class ListingOut(ListingRecordOut):
    progress: ListingProgressOut


# Where the listing and the job a 202 names lead (OpenAPI links), so clients and
# stateful fuzzers follow them.
STARTED_LINKS = {
    **links(
        "listing/id",
        ("get-listing", "listing_id"),
        ("list-listing-items", "listing_id"),
        ("cancel-listing", "listing_id"),
        ("resume-listing", "listing_id"),
        ("read-back-listing", "listing_id"),
    ),
    **links("job/id", ("get-job", "job_id")),
}


class ListingStarted(BaseModel):
    """A job made (or resumed) and handed to the job queue: follow the listing at its
    URL (Location); `job` is the queue's run of it."""

    listing: ListingOut
    job: JobOut


class ItemOut(BaseModel):
    shop: str
    outer_id: str
    platform: str
    state: str
    attempts: int
    item_id: str | None
    created: bool | None
    error: str | None
    platform_code: str | None
    reason: str | None
    field: str | None
    updated_at: str
    intent: dict[str, Any] | None = None


class ItemPage(BaseModel):
    total: int  # items matching the filters
    offset: int
    items: list[ItemOut]


class DifferenceOut(BaseModel):
    shop: str
    outer_id: str
    difference: str


class ReadbackOut(BaseModel):
    """The job's sent items read from their shops now: the share held exactly as sent,
    every difference (the first 200), items not found, shops that could not be read."""

    items: int
    equal: int
    accuracy: float
    differences: list[DifferenceOut]
    missing: list[str]
    missing_count: int
    unread: dict[str, str]
    seconds: float


class ListingRunning(BaseModel):
    """409: a resume of a job whose status says a run may be on the way (queued or
    running); send {"force": true} when that run is known to be dead."""

    detail: JobEndedDetail


class PushOut(BaseModel):
    """The stock push a publish made: its listing job (none when nothing changed since
    the last push), the updates it sends (one per shop and product) and the plan cells
    held back, by reason."""

    listing_id: str | None
    url: str | None
    updates: int
    held: int
    held_by_reason: dict[str, int]
    message: str
