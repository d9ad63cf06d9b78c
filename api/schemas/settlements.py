"""Models of the settlement routes: a run asked for (a multipart upload, its fields are
the route's own), the run with its summary, its outcome rows a page at a time, its bill,
and the trail of records resolved by hand."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from api.schemas.common import Strict
from api.schemas.errors import links
from api.schemas.jobs import JobOut

# A month as the period of a run (of this century): the pattern the form and the queries
# declare.
PERIOD_PATTERN = r"^20[0-9]{2}-(0[1-9]|1[0-2])$"
# A run id as the service makes them (uuid4 hex).
RUN_ID_PATTERN = r"^[0-9a-f]{32}$"
# Text the database keeps as it was sent: PostgreSQL's text holds no NUL character.
NO_NUL = r"^[^\x00]*$"


def _storable(text: str) -> str:
    # A lone surrogate (JSON's "\ud800") reads into Python but encodes to no database's
    # text: refused by name here rather than failing the write.
    if any("\ud800" <= char <= "\udfff" for char in text):
        raise ValueError("holds a lone UTF-16 surrogate, which is no character")
    return text


Record = Annotated[
    str,
    StringConstraints(min_length=1, max_length=600, pattern=NO_NUL),
    AfterValidator(_storable),
]
Note = Annotated[
    str,
    StringConstraints(min_length=1, max_length=4000, pattern=NO_NUL),
    AfterValidator(_storable),
]


class ResolutionRequest(Strict):
    """Resolve an exception of a done run by hand: `record` is the outcome row's record
    (`file:line`, as the outcomes list it), `note` says how it was settled. A record
    that matched, or that the run does not have, is a 422 naming it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "record": "orders.csv:120",
                    "note": "paid by bank transfer on 2026-12-03, receipt 88120",
                }
            ]
        }
    )

    record: Record
    note: Note


# --- answers ---------------------------------------------------------------------------


class InputOut(BaseModel):
    role: str  # contract | orders | payments | warehouse
    position: int  # its place among the files of its role
    name: str
    sha256: str
    size: int


class SettlementRecordOut(BaseModel):
    id: str
    brand: str  # the contract's
    period: str
    status: str  # queued | running | done | failed
    inputs_hash: str  # SHA-256 of the contract, period, files and the pool taken
    carry_from: str | None  # the run whose pending pool this one took
    created_at: str
    created_by: str  # the key id that asked for it
    finished_at: str | None
    error_kind: str | None  # a failed run: input (invalid files), control (the re-check)
    error: str | None


class SettlementOut(SettlementRecordOut):
    """A run: once done, its summary (outcome counts, control totals, the bill in short
    and the pending pool: what it took in and holds for the next run); once failed, its
    error. `urls`: where its outputs and its resolutions are read."""

    summary: dict[str, Any] | None
    inputs: list[InputOut]
    urls: dict[str, str]


class SettlementStarted(BaseModel):
    """A run made and handed to the job queue (202; `job` is the queue's run of it), or
    the done run of the same inputs (200, `reused`, no job)."""

    settlement: SettlementOut
    job: JobOut | None
    reused: bool


# Where the run and the job a 202 names lead (OpenAPI links), for clients and fuzzers.
STARTED_LINKS = {
    **links(
        "settlement/id",
        ("get-settlement", "settlement_id"),
        ("list-settlement-outcomes", "settlement_id"),
        ("get-settlement-bill", "settlement_id"),
        ("get-settlement-bill-xlsx", "settlement_id"),
        ("list-settlement-resolutions", "settlement_id"),
        ("create-settlement-resolution", "settlement_id"),
    ),
    **links("job/id", ("get-job", "job_id")),
}


class ResolutionEntry(BaseModel):
    id: int
    record: str
    outcome: str  # the record's outcome when it was resolved
    note: str
    resolved_by: str  # the key id that resolved it
    at: str


class ResolutionOut(ResolutionEntry):
    current: bool  # the latest resolution of its record


class OutcomeOut(BaseModel):
    """One record's outcome (engine/settlement/match.py says what each column holds),
    with its current resolution by hand, if any."""

    model_config = ConfigDict(extra="allow")  # a column the matching adds is passed on

    outcome: str
    order_id: str | None
    source: str  # orders | payments | movements
    record: str  # file:line
    joins: list[str] | None  # the records it was matched with
    amount: int | None  # fen
    expected: int | None  # fen
    reason: str | None
    resolution: ResolutionEntry | None  # the current one


class OutcomePage(BaseModel):
    total: int  # rows passing the filters
    offset: int
    items: list[OutcomeOut]


class BillLineOut(BaseModel):
    kind: str
    shop: str
    gmv: str  # money: yuan as a decimal string
    refunds: str
    settled: str
    orders: int
    fee: str
    held: int  # exceptions held out of the bill
    held_amount: str


class BillOut(BaseModel):
    """The brand's bill of the month (output.bill_document)."""

    model_config = ConfigDict(extra="allow")

    brand: str
    period: str
    currency: str
    method: str
    gmv: str
    refunds: str
    settled: str
    orders: int
    fee_before_minimum: str
    top_up: str
    fee: str
    held: int
    held_amount: str
    lines: list[BillLineOut]


# --- errors ----------------------------------------------------------------------------


class NotDoneDetail(BaseModel):
    settlement: str
    status: str  # queued | running | failed
    message: str


class SettlementNotDone(BaseModel):
    """409: the run's outputs were asked for before it is done, or it failed."""

    detail: NotDoneDetail


class UploadTooLargeDetail(BaseModel):
    field: str  # the form field, e.g. payments[1]
    file: str  # the file's name
    limit_bytes: int
    message: str


class UploadTooLarge(BaseModel):
    """413: one uploaded file above OMNISTOCK_SETTLEMENT_MAX_UPLOAD_BYTES."""

    detail: UploadTooLargeDetail
