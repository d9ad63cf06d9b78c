"""Schedules run as jobs: a tick every few seconds fires what is due. On Redis, real RQ
worker processes started with the scheduler run the tick, which re-arms itself; servers
arming the same tick at once make one job per slot; two workers firing the same due
reports at once send each exactly once (on SQLite and PostgreSQL). On the embedded
default, a timer thread ticks, and a tick that raises does not stop it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from redis import Redis
from rq.registry import ScheduledJobRegistry

from engine.db import migrate
from engine.db.connect import connect
from engine.jobs.ticks import RqTicker, ThreadTicker, arm, tick_job_id
from engine.reports.schedules import ScheduleStore
from tests.db.databases import BACKENDS, blank_database
from tests.reports import ticks_probe

REDIS_URL = "redis://127.0.0.1:6379/11"  # this directory's own database
ROOT = Path(__file__).resolve().parents[2]
_WORKER = """
import sys
from redis import Redis
from rq import Queue, Worker
connection = Redis.from_url(sys.argv[1])
Worker([Queue(sys.argv[2], connection=connection)], connection=connection,
       name=sys.argv[3]).work(with_scheduler=True)
"""


@dataclass
class Run:
    """One test's corner of the Redis database: its queue, its lists and its ticks all
    carry `token`, so two test runs at once (two checkouts, two sessions) do not meet,
    and the test deletes only its own keys."""

    redis: Redis
    token: str

    @property
    def queue(self) -> str:
        return f"omnistock-test-{self.token}"

    def key(self, name: str) -> str:
        return f"{self.token}-{name}"

    def workers(self, count: int) -> list[subprocess.Popen[bytes]]:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        return [
            subprocess.Popen(
                [sys.executable, "-c", _WORKER, REDIS_URL, self.queue, f"{self.token}-w{n}"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for n in range(count)
        ]


@pytest.fixture
def run() -> Iterator[Run]:
    connection = Redis.from_url(REDIS_URL)
    token = f"ticks{uuid.uuid4().hex[:12]}"
    try:
        yield Run(connection, token)
    finally:
        for key in connection.scan_iter(f"*{token}*"):
            connection.delete(key)
        connection.close()


def _stop(workers: list[subprocess.Popen[bytes]]) -> None:
    """A warm shutdown (SIGTERM), so each worker stops its scheduler process too: a
    killed worker would leave that child running, holding the scheduler's lock."""
    for worker in workers:
        worker.terminate()
    for worker in workers:
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)


def _wait_for(check: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)


def test_an_rq_tick_rearms_itself_once_per_slot(run: Run) -> None:
    redis, name, ticks = run.redis, run.key("count"), run.key("ticks")
    args = {"redis": REDIS_URL, "key": ticks}
    ticker = RqTicker(REDIS_URL, name, ticks_probe.count, args, 1.0, run.queue)
    # Three servers start at once, each arming the tick: one job for the slot.
    for _ in range(3):
        ticker.start()
    first = arm(REDIS_URL, name, ticks_probe.count, args, 1.0, run.queue)
    assert first == tick_job_id(name, float(first.rsplit("-", 1)[1]))
    scheduled = ScheduledJobRegistry(run.queue, connection=redis)
    assert scheduled.get_job_ids() in ([first], [])  # [] when the slot passed meanwhile
    workers = run.workers(1)
    try:
        _wait_for(lambda: int(redis.llen(ticks)) >= 4, 30)
    finally:
        _stop(workers)
    moments = sorted(float(m) for m in redis.lrange(ticks, 0, -1))
    assert len(moments) >= 4
    gaps = [b - a for a, b in zip(moments, moments[1:], strict=False)]
    # No slot ran twice (a gap near 0) and the chain never broke. A tick runs up to a
    # second late (the scheduler's poll) plus a work horse's start, so a one-second
    # tick may skip a slot: the next one is armed from the moment it runs.
    assert all(0.5 < gap < 5.0 for gap in gaps), gaps


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_workers_ticking_at_once_send_each_report_once(
    run: Run, tmp_path: Path, backend: str
) -> None:
    redis, sent_key = run.redis, run.key("sent")
    with blank_database(backend, tmp_path) as url:
        migrate.upgrade(url)
        engine = connect(url)
        store = ScheduleStore(engine)
        ended = date.today() - timedelta(days=3)  # a window over on any clock
        for n in range(10):
            store.add("acme", f"b{n}", "after_window", start=ended - timedelta(days=2), end=ended)
            store.add("acme", f"b{n}", "on_demand", start=ended, end=ended)
        expected = {f.key for f in store.due_firings(datetime.now(UTC))}
        engine.dispose()
        assert len(expected) == 20
        args = {"redis": REDIS_URL, "key": sent_key, "db": url}
        # Two ticks over the same schedules, due in the same slot: two jobs at once.
        arm(REDIS_URL, run.key("fire-a"), ticks_probe.fire, args, 2.0, run.queue)
        arm(REDIS_URL, run.key("fire-b"), ticks_probe.fire, args, 2.0, run.queue)
        workers = run.workers(2)
        try:
            _wait_for(lambda: int(redis.llen(sent_key)) >= 20, 60)
            time.sleep(2.5)  # a tick more: nothing further must be sent
        finally:
            _stop(workers)
    sent = [k.decode() if isinstance(k, bytes) else k for k in redis.lrange(sent_key, 0, -1)]
    assert sorted(sent) == sorted(expected)  # each exactly once


def test_the_embedded_ticker_goes_on_past_a_failing_tick() -> None:
    calls: list[float] = []
    lock = threading.Lock()

    def tick(args: dict[str, object]) -> None:
        with lock:
            calls.append(time.monotonic())
        if len(calls) == 2:
            raise RuntimeError("the database is down for a moment")

    ticker = ThreadTicker("report-schedules", tick, {}, 0.05)
    ticker.start()
    ticker.start()  # started once only
    _wait_for(lambda: len(calls) >= 5, 10)
    ticker.stop()
    stopped_at = len(calls)
    time.sleep(0.2)
    assert stopped_at >= 5 and len(calls) == stopped_at
    gaps = [b - a for a, b in zip(calls, calls[1:], strict=False)]
    assert all(gap >= 0.04 for gap in gaps)  # never overlapping, one wait between
