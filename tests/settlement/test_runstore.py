"""Settlement runs in the database, on SQLite and PostgreSQL: a run stored with its files
and settled into its outputs, the done run of the same inputs reused, the pending pool
taken from the brand's earlier month, a failed run with no output, and the trail of
records resolved by hand."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from engine.core.errors import InputError
from engine.db import migrate
from engine.db.connect import connect
from engine.db.errors import NotFound
from engine.jobs.kinds import JobFailed
from engine.services import settlements as service
from engine.settlement.carry import Carry
from engine.settlement.runstore import NewInput, RunStatus, SettlementStore
from tests.db.databases import BACKENDS, blank_database
from tests.settlement.months import DECEMBER_ORDERS, Files, december, demo_month

TENANT, AUTHOR = "acme", "key-1"


@dataclass
class Db:
    url: str
    store: SettlementStore


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    with blank_database(request.param, tmp_path) as url:
        migrate.upgrade(url)
        store = SettlementStore(connect(url))
        try:
            yield Db(url, store)
        finally:
            store.dispose()


def _uploads(files: Files) -> list[service.Upload]:
    return [service.Upload(role, name, data) for role, name, data in files]


def _create(store: SettlementStore, files: Files, period: str = "2026-11") -> service.Created:
    return service.create_run(store, TENANT, period, _uploads(files), AUTHOR)


def _settled(db: Db, files: Files, period: str = "2026-11") -> service.Created:
    made = _create(db.store, files, period)
    # The job kind, as a worker runs it: it opens the database itself.
    args = {"database_url": db.url, "tenant": TENANT, "settlement_id": made.run.id}
    result = service.SETTLEMENT_JOB.run(args, lambda *_: None)
    assert result == {"settlement_id": made.run.id, "status": "done"}
    return made


def _outcomes(store: SettlementStore, run_id: str) -> pl.DataFrame:
    data = store.output(TENANT, run_id, "outcomes")
    assert data is not None
    return pl.read_parquet(io.BytesIO(data))


def test_a_run_is_stored_with_its_files_and_settled(db: Db) -> None:
    files = demo_month()
    made = _create(db.store, files)
    run = made.run
    assert not made.reused and run.status is RunStatus.QUEUED
    assert (run.brand, run.period, run.carry_from, run.created_by) == (
        "b1",
        "2026-11",
        None,
        AUTHOR,
    )
    assert run.summary is None and db.store.output(TENANT, run.id, "outcomes") is None
    stored = [(one.role, one.name, data) for one, data in db.store.input_files(TENANT, run.id)]
    assert stored == files  # byte for byte, in the order given
    assert [one.size for one in db.store.inputs(TENANT, run.id)] == [len(f[2]) for f in files]

    done = service.execute(db.store, TENANT, run.id)
    assert done.status is RunStatus.DONE and done.finished_at is not None and done.error is None
    assert done.summary is not None
    counts = done.summary["outcomes"]
    assert counts["matched"] == 5600 and counts["pending"] == 20
    assert done.summary["pending_pool"]["held"] == {"orders": 20, "payments": 0, "movements": 0}
    bill = db.store.bill(TENANT, run.id)
    assert bill is not None and (bill["brand"], bill["fee"]) == ("b1", "47149.34")
    outcomes = _outcomes(db.store, run.id)
    assert outcomes.height == sum(counts.values())
    assert outcomes.filter(pl.col("outcome") == "pending").height == 20
    pool = db.store.output(TENANT, run.id, "carry")
    assert pool is not None and Carry.from_bytes(pool).counts["orders"] == 20
    xlsx = db.store.output(TENANT, run.id, "bill_xlsx")
    assert xlsx is not None and xlsx[:2] == b"PK"
    # A run done is not run again (a job delivered twice).
    assert service.execute(db.store, TENANT, run.id).finished_at == done.finished_at


def test_the_done_run_of_the_same_inputs_is_reused(db: Db) -> None:
    files = demo_month()
    first = _create(db.store, files)
    # Not done yet: the same upload is a run of its own (the first may never run).
    second = _create(db.store, files)
    assert not second.reused and second.run.id != first.run.id
    assert second.run.inputs_hash == first.run.inputs_hash
    service.execute(db.store, TENANT, second.run.id)
    again = _create(db.store, files)
    assert again.reused and again.run.id == second.run.id
    assert again.run.status is RunStatus.DONE
    # One byte of one file otherwise, or another tenant: not the same run.
    changed = [*files[:-1], (files[-1][0], files[-1][1], files[-1][2] + b"\n")]
    assert not _create(db.store, changed).reused
    other = service.create_run(db.store, "other", "2026-11", _uploads(files), AUTHOR)
    assert not other.reused
    # The order of a role's files is part of what a run is made from.
    swapped = [files[0], files[1], files[3], files[2], files[4]]
    assert _create(db.store, swapped).run.inputs_hash != first.run.inputs_hash


def test_the_next_month_takes_the_pool_of_the_brands_latest_earlier_run(db: Db) -> None:
    november = _settled(db, demo_month()).run
    pending = _outcomes(db.store, november.id).filter(
        (pl.col("outcome") == "pending") & (pl.col("source") == "orders")
    )
    pairs = [(row["order_id"], row["amount"]) for row in pending.iter_rows(named=True)]
    assert len(pairs) == 20

    made = _settled(db, december(pairs), "2026-12").run
    assert made.carry_from == november.id
    run = db.store.run(TENANT, made.id)
    assert run.summary is not None
    pool = run.summary["pending_pool"]
    assert pool["carried_in"] == {"orders": 20, "payments": 0, "movements": 0}
    assert pool["held"] == {"orders": 0, "payments": 0, "movements": 0}
    # The carried orders keep their month, November file and line, and now match.
    outcomes = _outcomes(db.store, made.id)
    named = ("2026-11/" + pending.get_column("record")).implode()
    carried = outcomes.filter(pl.col("record").is_in(named))
    assert carried.height == 20 and set(carried.get_column("outcome")) == {"matched"}
    bill = db.store.bill(TENANT, made.id)
    assert bill is not None and bill["orders"] == 20 + DECEMBER_ORDERS

    # A run of the same month, or of another brand, takes no pool: none is earlier.
    assert _create(db.store, demo_month()).reused
    rerun = _create(db.store, december(pairs), "2026-12")
    assert rerun.reused and rerun.run.id == made.id
    assert db.store.pool_before(TENANT, "b2", "2026-12") is None
    assert db.store.pool_before(TENANT, "b1", "2026-11") is None
    # A January takes December's pool, the latest earlier month's.
    assert db.store.pool_before(TENANT, "b1", "2027-01") == made.id


def test_a_run_that_fails_keeps_its_error_and_no_output(db: Db) -> None:
    files = demo_month()
    # Stored as given, bypassing the upload's checks: the warehouse file is an order export.
    bad = [*files[:4], ("warehouse", "stock.csv", files[1][2])]
    inputs = [
        NewInput(
            role,
            sum(r == role for r, _, _ in bad[:n]),
            name,
            hashlib.sha256(data).hexdigest(),
            data,
        )
        for n, (role, name, data) in enumerate(bad)
    ]
    run = db.store.create_run(
        TENANT,
        "f" * 32,
        brand="b1",
        period="2026-11",
        inputs_hash="0" * 64,
        carry_from=None,
        created_by=AUTHOR,
        inputs=inputs,
    )
    args = {"database_url": db.url, "tenant": TENANT, "settlement_id": run.id}
    with pytest.raises(JobFailed, match="stock.csv"):
        service.SETTLEMENT_JOB.run(args, lambda *_: None)
    failed = db.store.run(TENANT, run.id)
    assert failed.status is RunStatus.FAILED and failed.error_kind == "input"
    assert failed.error is not None and "stock.csv: given as warehouse records" in failed.error
    assert "omnistock-settle" not in failed.error  # the upload's name, not a folder here
    for output in ("outcomes", "bill_xlsx", "carry"):
        assert db.store.output(TENANT, run.id, output) is None  # type: ignore[arg-type]
    assert db.store.bill(TENANT, run.id) is None and failed.summary is None
    with pytest.raises(service.RunNotDone, match="failed"):
        service.bill(db.store, TENANT, run.id, None)
    # The same upload through the service is refused at once, naming the file.
    with pytest.raises(InputError) as caught:
        _create(db.store, bad)
    assert [issue.path for issue in caught.value.issues] == ["stock.csv"]


def test_records_resolved_by_hand_are_a_trail(db: Db) -> None:
    made = _create(db.store, demo_month()).run
    with pytest.raises(service.RunNotDone, match="queued"):
        service.resolve(db.store, TENANT, made.id, "orders.csv:92", "paid", AUTHOR)
    service.execute(db.store, TENANT, made.id)
    outcomes = _outcomes(db.store, made.id)
    short = outcomes.filter(pl.col("outcome") == "amount_short").row(0, named=True)["record"]
    matched = outcomes.filter(pl.col("outcome") == "matched").row(0, named=True)["record"]

    first = service.resolve(db.store, TENANT, made.id, short, "customer paid the rest", AUTHOR)
    later = service.resolve(db.store, TENANT, made.id, short, "refunded instead", "key-2")
    assert (first.outcome, later.outcome) == ("amount_short", "amount_short")
    trail = service.resolutions(db.store, TENANT, made.id, None)
    assert [(t["note"], t["resolved_by"], t["current"]) for t in trail] == [
        ("customer paid the rest", AUTHOR, False),
        ("refunded instead", "key-2", True),
    ]
    assert service.resolutions(db.store, TENANT, made.id, None, record=matched) == []

    for record, said in ((matched, "matched"), ("nope.csv:1", "no record")):
        with pytest.raises(InputError, match=said) as caught:
            service.resolve(db.store, TENANT, made.id, record, "x", AUTHOR)
        assert caught.value.source == service.REQUEST
        assert caught.value.issues[0].path == "record"

    def page(**wanted: object) -> dict[str, object]:
        chosen = service.OutcomeFilter(**wanted)  # type: ignore[arg-type]
        return service.outcomes_page(db.store, TENANT, made.id, "b1", chosen, 0, 5)

    resolved = page(resolved=True)
    assert resolved["total"] == 1
    [row] = resolved["items"]  # type: ignore[misc]
    assert row["record"] == short and row["resolution"]["note"] == "refunded instead"
    assert page(resolved=False)["total"] == outcomes.height - 1
    assert page(outcome="amount_short", resolved=False)["total"] == 59
    assert page(source="movements", outcome="not_for_orders")["total"] == 1
    assert json.dumps(page(outcome="pending"))  # every cell is JSON
    flagship = page(shop="旗舰店")
    assert 0 < flagship["total"] < outcomes.height
    assert {r["shop"] for r in flagship["items"]} == {"旗舰店"}  # type: ignore[attr-defined]
    # Another brand's reader finds no such run.
    with pytest.raises(NotFound):
        service.outcomes_page(db.store, TENANT, made.id, "b2", service.OutcomeFilter(), 0, 5)
    with pytest.raises(NotFound):
        service.resolutions(db.store, "other", made.id, None)
