"""Settlement runs of a tenant: a brand's month uploaded, checked and stored, settled by
the job queue (engine/jobs), and read back - its summary, its bill, the outcome of every
record a page at a time - with records resolved by hand.

A run is named by what it was made from: the hash of the contract, the period, every
file (by role, in order) and the run whose pending pool it takes. The same upload again,
once a run of it is done, is that run (`reused`): nothing is queued twice. The pool is
the one the brand's latest done run of an earlier month holds; it is chosen when the run
is made, so the hash, and a rerun, say which pool a run took.

The files are read once as they arrive, so a bad file is refused at once naming its file,
line and column; the job reads them again from the database, where they are kept byte
for byte. A run ends done with every output, or failed with its error, never half-way.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tempfile
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from engine.core.errors import InputError, Issue, OmnistockError
from engine.db.connect import connect
from engine.db.errors import NotFound
from engine.jobs.kinds import JobFailed, JobKind, Report, error_text
from engine.settlement.carry import Carry
from engine.settlement.contract import Contract, load_contract
from engine.settlement.control import ControlError
from engine.settlement.output import bill_document, summary_document, write_bill_xlsx
from engine.settlement.runstore import (
    ROLES,
    NewInput,
    Outputs,
    Resolution,
    RunRecord,
    RunStatus,
    SettlementStore,
)
from engine.settlement.settle import order_map_of, period_bounds, pool_document, settle
from engine.settlement.sources import read_settlement_bytes
from engine.settlement.tables import BRAND, NAME, RECORD
from engine.store.base import JsonObject, Store

__all__ = [
    "REQUEST",
    "SETTLEMENT_JOB",
    "Created",
    "OutcomeFilter",
    "RunNotDone",
    "Upload",
    "bill",
    "bill_xlsx",
    "create_run",
    "execute",
    "inputs_hash",
    "job_args",
    "outcomes_page",
    "readable_run",
    "resolutions",
    "resolve",
    "run_job",
]

# The source of the service's input errors about the request's own fields (period, file
# names, a record to resolve): the API names them as the body's.
REQUEST = "settlement request"
# The file roles a run reads records from, and the source each must be.
SOURCE_OF = {"orders": "orders", "payments": "payments", "warehouse": "movements"}
_SAID = {
    "orders": "a platform order export",
    "payments": "a payment bill",
    "movements": "warehouse records",
}
MATCHED = "matched"


@dataclass(frozen=True)
class Upload:
    """A file as it arrived: its role (contract, orders, payments, warehouse), its name."""

    role: str
    name: str
    data: bytes


@dataclass(frozen=True)
class Created:
    run: RunRecord
    reused: bool  # a done run of the same inputs: nothing new was queued


class RunNotDone(OmnistockError):
    """A run's outputs were asked for before it is done (or of a run that failed)."""

    def __init__(self, run: RunRecord) -> None:
        self.run_id = run.id
        self.status = run.status.value
        if run.status is RunStatus.FAILED:
            text = f"settlement run {run.id} failed: it has no outputs (its error says why)"
        else:
            text = f"settlement run {run.id} is {run.status.value}: no outputs until it is done"
        super().__init__(text)


# --- making a run --------------------------------------------------------------------------


def create_run(
    store: SettlementStore, tenant: str, period: str, uploads: Sequence[Upload], author: str
) -> Created:
    """Check the uploads (one contract, file names, every file read as the source it was
    given as), then the done run of the same inputs if there is one, else a new queued
    run with its files stored. InputError naming the field, file, line and column."""
    _check_period(period)
    files = _numbered(uploads)
    contract = _contract(files[0])
    carry_from = store.pool_before(tenant, contract.brand, period)
    digest = inputs_hash(period, files, carry_from)
    done = store.done_with_hash(tenant, digest)
    if done is not None:
        return Created(done, reused=True)
    _check_files(files[1:], contract)
    run = store.create_run(
        tenant,
        uuid.uuid4().hex,
        brand=contract.brand,
        period=period,
        inputs_hash=digest,
        carry_from=carry_from,
        created_by=author,
        inputs=files,
    )
    return Created(run, reused=False)


def inputs_hash(period: str, files: Sequence[NewInput], carry_from: str | None) -> str:
    """SHA-256 over the period, each file's role and SHA-256 in order (the contract's
    first), and the run whose pending pool the run takes."""
    document = {
        "period": period,
        "inputs": [[one.role, one.sha256] for one in files],
        "carry_from": carry_from,
    }
    return hashlib.sha256(json.dumps(document, separators=(",", ":")).encode()).hexdigest()


def _check_period(period: str) -> None:
    try:
        period_bounds(period)
    except InputError as error:
        raise InputError(error.issues, REQUEST) from None
    except ValueError:  # a month of a year Python's dates do not hold (0000, 9999-12)
        raise InputError([Issue("period", f"{period!r}: no such month")], REQUEST) from None


def _numbered(uploads: Sequence[Upload]) -> list[NewInput]:
    """The uploads in hash order (the contract, then orders, payments, warehouse, each
    in the order given), with names every file system and every record can carry."""
    issues = []
    contracts = [one for one in uploads if one.role == "contract"]
    if len(contracts) != 1:
        issues.append(Issue("contract", f"one contract file, not {len(contracts)}"))
    files: list[NewInput] = []
    seen: dict[str, str] = {}
    for role in ROLES:
        mine = [one for one in uploads if one.role == role]
        for position, one in enumerate(mine):
            field = role if role == "contract" else f"{role}[{position}]"
            problem = _name_problem(one.name)
            if problem is None and role != "contract" and one.name in seen:
                problem = f"a second file named {one.name!r} (first: {seen[one.name]})"
            if problem is not None:
                issues.append(Issue(field, problem))
                continue
            seen.setdefault(one.name, field)
            digest = hashlib.sha256(one.data).hexdigest()
            files.append(NewInput(role, position, one.name, digest, one.data))
    if issues:
        raise InputError(issues, REQUEST)
    return files


def _name_problem(name: str) -> str | None:
    """Why a file cannot be kept under this name: it names the file's records
    (`name:line`) and is written to disk for the run."""
    if name in ("", ".", ".."):
        return f"{name!r} is no file name"
    if any(char in name for char in "/\\"):
        return f"{name!r}: a file name without folders (no / or \\)"
    if any(unicodedata.category(char) == "Cc" for char in name):
        return "a file name has no control characters"
    if len(name.encode("utf-8", "replace")) > NAME:
        return f"a file name is at most {NAME} bytes (UTF-8)"
    return None


def _contract(upload: NewInput) -> Contract:
    """The contract (YAML or JSON), its errors named by the uploaded file's name."""
    folder = Path(tempfile.mkdtemp(prefix="omnistock-contract-"))
    try:
        path = folder / "contract.yaml"  # JSON is YAML too
        path.write_bytes(upload.data)
        contract = load_contract(path)
    except InputError as error:
        raise InputError(error.issues, upload.name) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    brand = contract.brand
    if len(brand) > BRAND or any(unicodedata.category(char) == "Cc" for char in brand):
        message = f"a brand is at most {BRAND} characters, without control characters"
        raise InputError([Issue("brand", message)], upload.name)
    return contract


def _check_files(files: Sequence[NewInput], contract: Contract) -> None:
    """Read every file as the run will: each must be the source it was given as. Every
    file's problems at once, each named by file, line and column."""
    order_map = order_map_of(contract)
    issues: list[Issue] = []
    for one in files:
        try:
            found = read_settlement_bytes(one.data, one.name, order_map)
        except InputError as error:
            issues += error.issues
            continue
        wanted = SOURCE_OF[one.role]
        if found.kind != wanted:
            message = f"given as {_SAID[wanted]} ({one.role}), but it is {_SAID[found.kind]}"
            issues.append(Issue(one.name, message))
    if issues:
        raise InputError(issues)


# --- running it ----------------------------------------------------------------------------


def run_job(database_url: str, tenant: str, run_id: str) -> RunRecord:
    """Settle a queued run on the database at `database_url`; the run as it ended."""
    store = SettlementStore(connect(database_url))
    try:
        return execute(store, tenant, run_id)
    finally:
        store.dispose()


def execute(store: SettlementStore, tenant: str, run_id: str) -> RunRecord:
    """Run it: its files written to a folder of its own, settled with the pool it took,
    every output stored in one transaction. Invalid input or a failed re-check ends it
    failed with the error's text; a done or failed run is not run again."""
    run = store.start(tenant, run_id)
    if run.status is not RunStatus.RUNNING:
        return run
    folder = Path(tempfile.mkdtemp(prefix="omnistock-settle-"))
    try:
        outputs = _settle(store, run, folder)
    except ControlError as error:
        return store.fail(tenant, run_id, "control", str(error))
    except InputError as error:
        # The files' names as uploaded, not the folder they were written to here.
        return store.fail(tenant, run_id, "input", str(error).replace(f"{folder}/in/", ""))
    except Exception as error:
        store.fail(tenant, run_id, "internal", error_text(error))
        raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return store.finish(tenant, run_id, outputs)


def _settle(store: SettlementStore, run: RunRecord, folder: Path) -> Outputs:
    given, made = folder / "in", folder / "out"
    given.mkdir()
    paths: dict[str, list[Path]] = {role: [] for role in SOURCE_OF}
    contract: Contract | None = None
    for one, data in store.input_files(run.tenant, run.id):
        if one.role == "contract":
            contract = _contract(NewInput(one.role, one.position, one.name, one.sha256, data))
            continue
        path = given / one.name  # names are unique within a run
        path.write_bytes(data)
        paths[one.role].append(path)
    assert contract is not None, f"settlement run {run.id} was stored without its contract"
    done = settle(
        paths["orders"],
        paths["payments"],
        paths["warehouse"],
        contract,
        run.period,
        carry=_pool(store, run),
    )
    summary = summary_document(done.bill, done.outcomes, done.control, pool_document(done))
    outcomes = io.BytesIO()
    done.outcomes.write_parquet(outcomes)
    return Outputs(
        summary=json.dumps(summary, sort_keys=True, ensure_ascii=False),
        bill=json.dumps(bill_document(done.bill), sort_keys=True, ensure_ascii=False),
        bill_xlsx=write_bill_xlsx(done.bill, done.outcomes, made).read_bytes(),
        outcomes=outcomes.getvalue(),
        carry=done.carry.to_bytes(),
    )


def _pool(store: SettlementStore, run: RunRecord) -> Carry | None:
    if run.carry_from is None:
        return None
    data = store.output(run.tenant, run.carry_from, "carry")
    source = f"the pending pool of settlement run {run.carry_from}"
    if data is None:
        raise InputError([Issue("carry_from", "that run holds no pool")], source)
    return Carry.from_bytes(data, source)


# --- the job kind (engine/jobs) ------------------------------------------------------------


def job_args(database_url: str, run_id: str) -> JsonObject:
    """What a job needs to find its run (a worker process reads no settings)."""
    return {"database_url": database_url, "settlement_id": run_id}


def _prepare(store: Store, args: JsonObject) -> JsonObject:
    return {**args, "tenant": store.tenant}


def _run(args: JsonObject, report: Report) -> JsonObject:
    report("settlement", 0, 1)
    run = run_job(args["database_url"], args["tenant"], args["settlement_id"])
    report("settlement", 1, 1)
    if run.status is RunStatus.FAILED:
        raise JobFailed(f"settlement run {run.id} failed: {run.error}")
    return {"settlement_id": run.id, "status": run.status.value}


def _finish(store: Store, outcome: JsonObject, job_id: str) -> JsonObject:
    return outcome


SETTLEMENT_JOB = JobKind("settlement", _prepare, _run, _finish)


# --- reading it ----------------------------------------------------------------------------


def readable_run(
    store: SettlementStore, tenant: str, run_id: str, brand: str | None, with_summary: bool = True
) -> RunRecord:
    """The run, as a reader cut to `brand` may see it: another brand's run is not found,
    as if it did not exist (NotFound)."""
    run = store.run(tenant, run_id, with_summary)
    if brand is not None and run.brand != brand:
        raise NotFound("settlement run", run_id)
    return run


def _done(store: SettlementStore, tenant: str, run_id: str, brand: str | None) -> RunRecord:
    run = readable_run(store, tenant, run_id, brand, with_summary=False)
    if run.status is not RunStatus.DONE:
        raise RunNotDone(run)
    return run


def outcomes_frame(store: SettlementStore, tenant: str, run_id: str) -> pl.DataFrame:
    data = store.output(tenant, run_id, "outcomes")
    assert data is not None, f"settlement run {run_id} is done without its outcomes"
    return pl.read_parquet(io.BytesIO(data))


@dataclass(frozen=True)
class OutcomeFilter:
    outcome: str | None = None
    source: str | None = None
    order_id: str | None = None
    shop: str | None = None
    resolved: bool | None = None


def outcomes_page(
    store: SettlementStore,
    tenant: str,
    run_id: str,
    brand: str | None,
    wanted: OutcomeFilter,
    offset: int = 0,
    limit: int = 100,
) -> JsonObject:
    """The run's outcome rows that pass the filter, a page at a time in the engine's
    order, each with its current resolution (None when never resolved); `total` counts
    every row that passes."""
    _done(store, tenant, run_id, brand)
    frame = outcomes_frame(store, tenant, run_id)
    if wanted.shop is not None and "shop" not in frame.columns:
        raise InputError([Issue("shop", "the outcomes of this run carry no shop")], REQUEST)
    for column in ("outcome", "source", "order_id", "shop"):
        value = getattr(wanted, column)
        if value is not None:
            frame = frame.filter(pl.col(column) == value)
    current = _current(store.resolutions(tenant, run_id))
    if wanted.resolved is not None:
        seen = pl.col("record").is_in(pl.Series(list(current), dtype=pl.String).implode())
        frame = frame.filter(seen if wanted.resolved else ~seen)
    items = [
        {**{key: _plain(value) for key, value in row.items()}, "resolution": _latest(current, row)}
        for row in frame.slice(offset, limit).iter_rows(named=True)
    ]
    return {"total": frame.height, "offset": offset, "items": items}


def _current(trail: Sequence[Resolution]) -> dict[str, Resolution]:
    """Each record's latest resolution (the trail comes in the order it was written)."""
    return {one.record: one for one in trail}


def _latest(current: dict[str, Resolution], row: dict[str, Any]) -> JsonObject | None:
    found = current.get(row.get("record") or "")
    return None if found is None else found.to_json()


def _plain(value: Any) -> Any:
    """A cell as JSON holds it (a list stays a list, a time becomes ISO text)."""
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def bill(store: SettlementStore, tenant: str, run_id: str, brand: str | None) -> JsonObject:
    _done(store, tenant, run_id, brand)
    document = store.bill(tenant, run_id)
    assert document is not None, f"settlement run {run_id} is done without its bill"
    return document


def bill_xlsx(store: SettlementStore, tenant: str, run_id: str, brand: str | None) -> bytes:
    _done(store, tenant, run_id, brand)
    data = store.output(tenant, run_id, "bill_xlsx")
    assert data is not None, f"settlement run {run_id} is done without its workbook"
    return data


# --- resolving by hand ---------------------------------------------------------------------


def resolve(
    store: SettlementStore, tenant: str, run_id: str, record: str, note: str, who: str
) -> Resolution:
    """Resolve an exception by hand: `record` must be one of the run's outcome rows that
    did not match (InputError naming it otherwise). Appended to the trail; an earlier
    resolution of the record stays in it."""
    _done(store, tenant, run_id, None)
    if len(record) > RECORD:
        raise InputError([Issue("record", f"at most {RECORD} characters")], REQUEST)
    rows = outcomes_frame(store, tenant, run_id).filter(pl.col("record") == record)
    if rows.height == 0:
        message = f"{record!r} is no record of settlement run {run_id} (a record is file:line)"
        raise InputError([Issue("record", message)], REQUEST)
    held = sorted(set(rows.get_column("outcome").to_list()) - {MATCHED})
    if not held:
        message = f"{record!r} matched: there is nothing to resolve"
        raise InputError([Issue("record", message)], REQUEST)
    return store.add_resolution(
        tenant, run_id, record=record, outcome=",".join(held), note=note, by=who
    )


def resolutions(
    store: SettlementStore,
    tenant: str,
    run_id: str,
    brand: str | None,
    record: str | None = None,
) -> list[JsonObject]:
    """The run's trail in the order it was written (of one record, when given), each
    entry saying whether it is its record's current resolution."""
    readable_run(store, tenant, run_id, brand, with_summary=False)
    trail = store.resolutions(tenant, run_id, record)
    current = {one.id for one in _current(trail).values()}
    return [{**one.to_json(), "current": one.id in current} for one in trail]
