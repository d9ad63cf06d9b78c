"""Schedules on SQLite and PostgreSQL: when each rule is due (China's calendar), several
reports due at the same moment all fired, each exactly once, also with two firers at
once (threads, each with its own connection pool, as two workers would), a failing run
that does not stop the others, a claim whose worker died taken over after the lease, a
finished firing released to fire again, and bad schedules refused naming the field."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from engine.core.errors import InputError
from engine.db import migrate
from engine.db.connect import connect
from engine.db.errors import NotFound
from engine.reports.schedules import LEASE, Firing, ScheduleStore, fire_due, firing_key
from tests.db.databases import BACKENDS, blank_database

DOUBLE11 = (date(2026, 11, 10), date(2026, 11, 12))
# 2026-11-12 23:59 in China is 15:59 UTC; a minute later the window has ended there.
LAST_MINUTE = datetime(2026, 11, 12, 15, 59, tzinfo=UTC)
ENDED = datetime(2026, 11, 12, 16, 0, tzinfo=UTC)


@dataclass
class Db:
    url: str
    store: ScheduleStore


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    with blank_database(request.param, tmp_path) as url:
        migrate.upgrade(url)
        engine = connect(url)
        try:
            yield Db(url, ScheduleStore(engine, Clock(datetime(2026, 11, 1, tzinfo=UTC))))
        finally:
            engine.dispose()


def _keys(firings: list[Firing]) -> list[str]:
    return [f.key for f in firings]


def test_a_campaign_report_is_due_once_its_last_day_is_over_in_china(db: Db) -> None:
    db.store.add("acme", "b1", "after_window", start=DOUBLE11[0], end=DOUBLE11[1], label="双11")
    assert db.store.due_firings(LAST_MINUTE) == []
    [firing] = db.store.due_firings(ENDED)
    assert firing.key == "acme/b1/campaign/2026-11-10..2026-11-12"
    assert (firing.start, firing.end, firing.kind, firing.lang) == (*DOUBLE11, "campaign", "zh")
    assert firing.label == "双11"
    assert fire_due(db.store, ENDED, lambda f: "sent")[0].outcome == "sent"
    # Fired: never due again, however late it is asked.
    assert db.store.due_firings(ENDED + timedelta(days=40)) == []


def test_monthly_on_day_n_for_the_month_before(db: Db) -> None:
    db.store.add("acme", "b1", "monthly", day=3, lang="en")  # created 2026-11-01
    assert db.store.due_firings(datetime(2026, 11, 2, 15, 59, tzinfo=UTC)) == []  # 11-02 23:59
    [october] = db.store.due_firings(datetime(2026, 11, 2, 16, 0, tzinfo=UTC))  # 11-03 00:00
    assert (october.start, october.end, october.kind) == (
        date(2026, 10, 1),
        date(2026, 10, 31),
        "monthly",
    )
    fire_due(db.store, datetime(2026, 11, 3, tzinfo=UTC), lambda f: "sent")
    assert db.store.due_firings(datetime(2026, 12, 2, tzinfo=UTC)) == []
    # The server was down from December to February: the missed months all come, in order.
    late = db.store.due_firings(datetime(2027, 2, 20, tzinfo=UTC))
    assert [(f.start, f.end) for f in late] == [
        (date(2026, 11, 1), date(2026, 11, 30)),
        (date(2026, 12, 1), date(2026, 12, 31)),
        (date(2027, 1, 1), date(2027, 1, 31)),
    ]


def test_a_monthly_schedule_made_after_its_day_waits_for_the_next_month(db: Db) -> None:
    store = ScheduleStore(db.store.engine, Clock(datetime(2026, 11, 10, tzinfo=UTC)))
    store.add("acme", "b1", "monthly", day=3)
    assert store.due_firings(datetime(2026, 11, 30, tzinfo=UTC)) == []
    [november] = store.due_firings(datetime(2026, 12, 3, tzinfo=UTC))
    assert (november.start, november.end) == (date(2026, 11, 1), date(2026, 11, 30))


def test_on_demand_is_due_at_once_and_each_request_is_its_own(db: Db) -> None:
    first = db.store.add("acme", "b1", "on_demand", start=DOUBLE11[0], end=DOUBLE11[1])
    second = db.store.add("acme", "b1", "on_demand", start=DOUBLE11[0], end=DOUBLE11[1])
    due = db.store.due_firings(datetime(2026, 11, 1, tzinfo=UTC))
    assert _keys(due) == [
        f"acme/b1/campaign/2026-11-10..2026-11-12/demand-{first.id}",
        f"acme/b1/campaign/2026-11-10..2026-11-12/demand-{second.id}",
    ]


def test_two_schedules_of_the_same_report_share_one_key(db: Db) -> None:
    db.store.add("acme", "b1", "after_window", start=DOUBLE11[0], end=DOUBLE11[1])
    db.store.add("acme", "b1", "after_window", start=DOUBLE11[0], end=DOUBLE11[1], lang="en")
    [only] = db.store.due_firings(ENDED)
    assert only.lang == "zh"  # the first schedule's


def test_a_paused_schedule_fires_nothing(db: Db) -> None:
    made = db.store.add("acme", "b1", "after_window", start=DOUBLE11[0], end=DOUBLE11[1])
    db.store.set_active("acme", made.id, False)
    assert db.store.due_firings(ENDED) == []
    db.store.set_active("acme", made.id, True)
    assert len(db.store.due_firings(ENDED)) == 1
    with pytest.raises(NotFound):
        db.store.set_active("other", made.id, False)


def _many_due(store: ScheduleStore, brands: int = 12) -> set[str]:
    """Reports of several tenants and brands all due at ENDED (the Double-11 rush)."""
    for tenant in ("acme", "globex"):
        for n in range(brands):
            store.add(tenant, f"b{n}", "after_window", start=DOUBLE11[0], end=DOUBLE11[1])
            store.add(tenant, f"b{n}", "monthly", day=1)
    return {f.key for f in store.due_firings(ENDED)}


def test_several_due_at_once_are_all_fired_each_once(db: Db) -> None:
    expected = _many_due(db.store)
    assert len(expected) == 2 * 12 * 2  # a campaign and October of each brand
    runs: list[str] = []

    def run(firing: Firing) -> str:
        runs.append(firing.key)
        return "sent"

    fired = fire_due(db.store, ENDED, run)
    assert sorted(runs) == sorted(expected) and len(runs) == len(set(runs))
    assert {f.firing.key for f in fired} == expected
    assert fire_due(db.store, ENDED + timedelta(minutes=1), run) == []
    assert len(runs) == len(expected)
    records = db.store.firings("acme")
    assert len(records) == 24 and {r.outcome for r in records} == {"sent"}


def test_two_firers_at_once_run_each_report_exactly_once(db: Db) -> None:
    expected = _many_due(db.store)
    runs: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(firing: Firing) -> str:
        with lock:
            runs[firing.key] += 1
        return "sent"

    def firer(name: str) -> None:
        # Its own engine (its own pool, its own connections), as another worker has.
        engine = connect(db.url)
        try:
            store = ScheduleStore(engine)
            start.wait()
            fire_due(store, ENDED, run, worker=name)
        except BaseException as error:  # surfaced below: a thread's failure is silent
            errors.append(error)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=firer, args=(f"w{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert set(runs) == expected
    assert set(runs.values()) == {1}
    claimers = {r.claimed_by for t in ("acme", "globex") for r in db.store.firings(t)}
    assert claimers <= {"w0", "w1"}


def test_a_failing_run_is_recorded_and_the_others_still_run(db: Db) -> None:
    for brand in ("b1", "b2", "b3"):
        db.store.add("acme", brand, "after_window", start=DOUBLE11[0], end=DOUBLE11[1])

    def run(firing: Firing) -> str:
        if firing.brand == "b2":
            raise ConnectionRefusedError("smtp.agency.example:587 refused")
        return "sent"

    fired = fire_due(db.store, ENDED, run)
    assert [(f.firing.brand, f.outcome) for f in fired] == [
        ("b1", "sent"),
        ("b2", "failed"),
        ("b3", "sent"),
    ]
    [failed] = [r for r in db.store.firings("acme") if r.brand == "b2"]
    assert failed.outcome == "failed" and failed.error is not None
    assert "refused" in failed.error
    # Finished, even failed: not fired again by itself; released, it is due again.
    assert db.store.due_firings(ENDED) == []
    db.store.release("acme", failed.key)
    assert _keys(db.store.due_firings(ENDED)) == [failed.key]
    with pytest.raises(NotFound):
        db.store.release("other", failed.key)


def test_a_claim_whose_worker_died_is_taken_over_after_the_lease(db: Db) -> None:
    db.store.add("acme", "b1", "after_window", start=DOUBLE11[0], end=DOUBLE11[1])
    [firing] = db.store.due_firings(ENDED)
    assert db.store.claim(firing, ENDED, "dead-worker")  # ... and never finishes
    assert not db.store.claim(firing, ENDED + timedelta(minutes=5), "w1")
    assert db.store.due_firings(ENDED + LEASE - timedelta(seconds=1)) == []
    later = ENDED + LEASE + timedelta(seconds=1)
    assert _keys(db.store.due_firings(later)) == [firing.key]
    assert db.store.claim(firing, later, "w1")
    assert not db.store.claim(firing, later, "w2")  # taken over once, by one
    [record] = db.store.firings("acme")
    assert record.claimed_by == "w1" and record.finished_at is None


def test_a_claim_is_stamped_when_it_is_made_not_when_the_tick_began(db: Db) -> None:
    db.store.add("acme", "b1", "after_window", start=DOUBLE11[0], end=DOUBLE11[1])
    [firing] = db.store.due_firings(ENDED)
    # The tick began at ENDED; the reports before this one took three hours to send.
    late = ScheduleStore(db.store.engine, Clock(ENDED + timedelta(hours=3)))
    assert late.claim(firing, ENDED, "w1")
    [record] = late.firings("acme")
    assert record.claimed_at == ENDED + timedelta(hours=3)
    # So a worker ticking now does not take it for a dead worker's.
    assert late.due_firings(ENDED + timedelta(hours=3)) == []
    assert not late.claim(firing, ENDED + timedelta(hours=3), "w2")


def test_bad_schedules_are_refused_naming_the_field(db: Db) -> None:
    with pytest.raises(InputError) as caught:
        db.store.add("acme", "b1", "after_window", start=DOUBLE11[1], end=DOUBLE11[0])
    assert [i.path for i in caught.value.issues] == ["end"]
    with pytest.raises(InputError) as caught:
        db.store.add("acme", "b1", "monthly", day=31, lang="fr")
    assert sorted(i.path for i in caught.value.issues) == ["day", "lang"]
    with pytest.raises(InputError) as caught:
        db.store.add("acme", "b1", "weekly")
    assert [i.path for i in caught.value.issues] == ["rule"]
    with pytest.raises(InputError) as caught:
        db.store.add("acme", "b1", "on_demand", kind="yearly")
    assert sorted(i.path for i in caught.value.issues) == ["end", "kind", "start"]
    assert db.store.schedules("acme") == []


def test_schedules_are_the_tenants_own(db: Db) -> None:
    made = db.store.add("acme", "b1", "monthly", day=5)
    assert [s.id for s in db.store.schedules("acme", brand="b1")] == [made.id]
    assert db.store.schedules("acme", brand="b2") == [] and db.store.schedules("other") == []
    assert db.store.get("acme", made.id).to_json()["day"] == 5
    with pytest.raises(NotFound):
        db.store.get("other", made.id)
    with pytest.raises(NotFound):
        db.store.remove("other", made.id)
    db.store.remove("acme", made.id)
    assert db.store.schedules("acme") == []


def test_the_key_names_brand_kind_and_window() -> None:
    assert firing_key("t", "b", "monthly", date(2026, 10, 1), date(2026, 10, 31)) == (
        "t/b/monthly/2026-10-01..2026-10-31"
    )
    assert firing_key("t", "b", "campaign", *DOUBLE11, 7).endswith("/demand-7")
