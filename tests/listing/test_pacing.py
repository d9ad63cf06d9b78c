"""The marketplace call limiter on each backend: in memory, on Redis (database 15 of the
local server, or OMNISTOCK_REDIS_URL, keys under a prefix of the test's own), in a SQLite
file and in a PostgreSQL database of the test's own.

Exact behaviour is checked with `now` given (GCRA steps, bursts, the China day); pacing
in real time with the backends' own clocks. Processes sharing one key record the `now`
each grant was made at, so the spacing between grants is checked exactly; with Redis's
clock they record when the grant came back, and a window may then hold one grant more
(a process descheduled between the two). Upper bounds on rates are tight, lower ones loose:
the test machine may be slow, never too fast.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from datetime import datetime, timedelta
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import Engine, select

from engine.core.errors import InputError, OmnistockError
from engine.db import migrate
from engine.db.connect import connect
from engine.listing.pacing import (
    CHINA,
    MAX_NAP_S,
    MemoryPacer,
    Pacer,
    PacerUnavailable,
    QuotaExhausted,
    QuotaZero,
    RedisPacer,
    SqlPacer,
    key_parts,
    pace_key,
    wait,
)
from engine.listing.tables import PACE_KEY, ListingPace
from tests.db.databases import BACKENDS, blank_database
from tests.redis_server import free_port

TEST_REDIS_URL = os.environ.get("OMNISTOCK_REDIS_URL") or "redis://127.0.0.1:6379/15"
SECRET = "app-key-s3cret-7781"
KINDS = ("memory", "redis", *BACKENDS)
T0 = 1_000_000.0  # a `now` for the exact tests: 1970-01-12, far from any midnight
BIG = 10**9  # a day quota that never runs out


def key(shop: str = "pdd-b1", method: str = "pdd.goods.add") -> str:
    return pace_key("pdd", SECRET, f"{shop}-{uuid.uuid4().hex[:8]}", method)


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of the test's own on the test Redis; its keys are deleted after."""
    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis at {TEST_REDIS_URL} is not reachable: {error}")
    prefix = f"omnistock-test:pace:{uuid.uuid4().hex[:12]}:"
    yield prefix
    for found in client.scan_iter(match=f"{prefix}*"):
        client.delete(found)
    client.close()


@pytest.fixture
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database of the backend named by the test's parameter."""
    with blank_database(request.param, tmp_path) as url:
        migrate.upgrade(url)
        yield url


def open_pacer(spec: dict[str, Any]) -> tuple[Pacer, Callable[[], None]]:
    """A pacer from a picklable description (the processes below make their own), and
    how to close it."""
    if spec["kind"] == "redis":
        client = redis.Redis.from_url(TEST_REDIS_URL)
        return RedisPacer(client, spec["prefix"], spec.get("burst", 1)), client.close
    engine = connect(spec["url"])
    pacer = SqlPacer(engine, spec.get("burst", 1))

    def close() -> None:
        pacer.dispose()
        engine.dispose()

    return pacer, close


@pytest.fixture(params=KINDS)
def spec(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    kind = request.param
    if kind == "memory":
        yield {"kind": kind}
    elif kind == "redis":
        yield {"kind": kind, "prefix": request.getfixturevalue("redis_prefix")}
    else:
        with blank_database(kind, tmp_path) as url:
            migrate.upgrade(url)
            yield {"kind": kind, "url": url}


@pytest.fixture
def make_pacer(spec: dict[str, Any]) -> Iterator[Callable[..., Pacer]]:
    """Makes pacers of the backend (any burst); all share the backend's state."""
    closers: list[Callable[[], None]] = []
    shared = MemoryPacer()

    def make(burst: int = 1) -> Pacer:
        if spec["kind"] == "memory":
            return shared if burst == 1 else MemoryPacer(burst)
        pacer, close = open_pacer({**spec, "burst": burst})
        closers.append(close)
        return pacer

    yield make
    for close in closers:
        close()


# --- keys ------------------------------------------------------------------------------


def test_key_hides_the_app_key_and_keeps_the_rest() -> None:
    made = pace_key("pdd", SECRET, "pdd-b1", "pdd.goods.add")
    assert SECRET not in made
    assert key_parts(made) == ("pdd", made.split(":")[1], "pdd-b1", "pdd.goods.add")
    assert len(made.split(":")[1]) == 16
    # Two app keys have two quotas; the same one always the same key.
    assert pace_key("pdd", "other-app", "pdd-b1", "pdd.goods.add") != made
    assert pace_key("pdd", SECRET, "pdd-b1", "pdd.goods.add") == made


def test_key_fits_its_column_and_reads_back_whatever_the_names() -> None:
    odd = pace_key("jd", SECRET, "shop:with:colons%", "a:b")
    assert key_parts(odd) == ("jd", odd.split(":")[1], "shop:with:colons%", "a:b")
    long_a = pace_key("douyin" * 10, SECRET, "店" * 400 + "a", "m." * 300)
    long_b = pace_key("douyin" * 10, SECRET, "店" * 400 + "b", "m." * 300)
    assert len(long_a) <= PACE_KEY and len(long_b) <= PACE_KEY
    assert long_a != long_b  # the hash of the whole tells them apart
    escapes = pace_key("jd", SECRET, ":" * 200, "m")
    assert len(escapes) <= PACE_KEY
    shop = key_parts(escapes).shop  # type: ignore[union-attr]
    assert shop.startswith(":::") and "%" not in shop
    assert key_parts("not a pacer key") is None


def test_key_refuses_empty_parts() -> None:
    with pytest.raises(InputError) as refused:
        pace_key("", SECRET, "pdd-b1", "")
    assert [issue.path for issue in refused.value.issues] == ["platform", "method"]


# --- the algorithm, with `now` given ---------------------------------------------------


def test_calls_are_spaced_by_the_rate(make_pacer: Callable[..., Pacer]) -> None:
    pacer, k = make_pacer(), key()
    assert pacer.take(k, 4, BIG, now=T0) == 0.0
    assert pacer.take(k, 4, BIG, now=T0 + 0.1) == pytest.approx(0.15)
    assert pacer.take(k, 4, BIG, now=T0 + 0.25) == 0.0
    assert pacer.take(k, 4, BIG, now=T0 + 0.25) == pytest.approx(0.25)  # nothing counted
    assert pacer.take(k, 4, BIG, now=T0 + 0.5) == 0.0
    # Idle time is not saved up: with a burst of 1, the next call after a pause is alone.
    assert pacer.take(k, 4, BIG, now=T0 + 10) == 0.0
    assert pacer.take(k, 4, BIG, now=T0 + 10) == pytest.approx(0.25)


def test_burst_allows_that_many_at_once_then_the_rate(make_pacer: Callable[..., Pacer]) -> None:
    pacer, k = make_pacer(burst=3), key()
    assert [pacer.take(k, 4, BIG, now=T0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert pacer.take(k, 4, BIG, now=T0) == pytest.approx(0.25)
    assert pacer.take(k, 4, BIG, now=T0 + 0.25) == 0.0
    assert pacer.take(k, 4, BIG, now=T0 + 0.25) == pytest.approx(0.25)
    # After a long pause, a full burst again and no more.
    assert [pacer.take(k, 4, BIG, now=T0 + 60) for _ in range(4)][-1] == pytest.approx(0.25)


def test_keys_are_independent(make_pacer: Callable[..., Pacer]) -> None:
    pacer, a, b = make_pacer(), key("shop-a"), key("shop-b")
    other_method = pace_key("pdd", SECRET, key_parts(a).shop, "pdd.goods.edit")  # type: ignore[union-attr]
    assert pacer.take(a, 1, BIG, now=T0) == 0.0
    assert pacer.take(b, 1, BIG, now=T0) == 0.0
    assert pacer.take(other_method, 1, BIG, now=T0) == 0.0
    assert pacer.take(a, 1, BIG, now=T0) == pytest.approx(1.0)
    assert pacer.take(b, 1, BIG, now=T0 + 0.5) == pytest.approx(0.5)


def test_day_quota_runs_out_and_comes_back_at_china_midnight(
    make_pacer: Callable[..., Pacer],
) -> None:
    pacer = make_pacer()
    k = pace_key("pdd", SECRET, f"pdd-{uuid.uuid4().hex[:6]}", "pdd.goods.add")
    midnight = datetime(2026, 11, 12, tzinfo=CHINA)
    before = midnight.timestamp() - 2  # 23:59:58 on 11 November, China time
    for step in range(3):
        assert pacer.take(k, 2, 3, now=before + step * 0.5) == 0.0
    with pytest.raises(QuotaExhausted) as exhausted:
        pacer.take(k, 2, 3, now=before + 1.5)
    error = exhausted.value
    assert isinstance(error, OmnistockError)
    assert error.resets_at == midnight and error.per_day == 3 and error.key == k
    message = str(error)
    parts = key_parts(k)
    assert parts is not None and parts.shop in message and "pdd.goods.add" in message
    assert "2026-11-12 00:00 China time" in message
    assert SECRET not in message and parts.app not in message
    # The UTC day changed eight hours ago; the platform's day changes now.
    assert pacer.take(k, 2, 3, now=midnight.timestamp()) == 0.0
    assert pacer.take(k, 2, 3, now=midnight.timestamp() + 0.5) == 0.0


def test_exhausted_day_comes_through_wait(make_pacer: Callable[..., Pacer]) -> None:
    pacer, k = make_pacer(), key()
    assert wait(pacer, k, 1000, 1)
    with pytest.raises(QuotaExhausted):
        wait(pacer, k, 1000, 1, sleep=lambda _: pytest.fail("slept on a spent quota"))


@pytest.mark.parametrize(
    ("per_second", "per_day", "paths"),
    [(0, 100, ["per_second"]), (-1.0, 0, ["per_second", "per_day"]), (math.nan, 5, ["per_second"])],
)
def test_zero_quota_is_refused_before_anything(
    make_pacer: Callable[..., Pacer], per_second: float, per_day: int, paths: list[str]
) -> None:
    pacer, k = make_pacer(), key()
    with pytest.raises(QuotaZero) as refused:
        pacer.take(k, per_second, per_day, now=T0)
    assert isinstance(refused.value, InputError)
    assert [issue.path for issue in refused.value.issues] == paths
    shop = key_parts(k).shop  # type: ignore[union-attr]
    assert shop in str(refused.value) and "pdd.goods.add" in str(refused.value)
    # Nothing was counted: the first real call at the same moment goes.
    assert pacer.take(k, 1, 10, now=T0) == 0.0
    assert pacer.take(k, 1, 10, now=T0) > 0


def test_burst_must_be_a_whole_positive_number() -> None:
    for burst in (0, -2, 1.5, True):
        with pytest.raises(InputError):
            MemoryPacer(burst)  # type: ignore[arg-type]


# --- wait ------------------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = T0
        self.naps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.naps.append(seconds)
        self.now += seconds


class _OnClock:
    """A real MemoryPacer read at a clock the test moves."""

    def __init__(self, clock: _Clock) -> None:
        self.inner, self.clock = MemoryPacer(), clock

    def take(self, key: str, per_second: float, per_day: int, now: float | None = None) -> float:
        return self.inner.take(key, per_second, per_day, self.clock.now)


def test_wait_sleeps_in_short_naps_until_the_call_may_go() -> None:
    clock = _Clock()
    pacer, k = _OnClock(clock), key()
    assert wait(pacer, k, 0.2, BIG, sleep=clock.sleep)  # one call every 5 s
    assert clock.naps == []
    assert wait(pacer, k, 0.2, BIG, sleep=clock.sleep)
    assert clock.naps == pytest.approx([MAX_NAP_S] * 5)
    assert clock.now == pytest.approx(T0 + 5)


def test_wait_stops_when_cancelled_and_spends_no_call() -> None:
    clock = _Clock()
    pacer, k = _OnClock(clock), key()
    assert wait(pacer, k, 0.2, BIG, sleep=clock.sleep)
    asked = iter([False, False, True])
    assert not wait(pacer, k, 0.2, BIG, sleep=clock.sleep, cancelled=lambda: next(asked))
    assert len(clock.naps) == 2
    fresh = key()
    assert not wait(pacer, fresh, 1, BIG, sleep=clock.sleep, cancelled=lambda: True)
    assert pacer.take(fresh, 1, BIG) == 0.0


# --- real time, the backends' own clocks -------------------------------------------------


def test_pacing_holds_in_real_time(make_pacer: Callable[..., Pacer]) -> None:
    pacer, k, rate, calls = make_pacer(), key(), 25.0, 16
    start = time.monotonic()
    for _ in range(calls):
        assert wait(pacer, k, rate, BIG)
    elapsed = time.monotonic() - start
    least = (calls - 1) / rate  # the first call goes at once
    assert elapsed >= least - 0.005, f"{calls} calls in {elapsed:.3f}s at {rate}/s"
    assert elapsed < least + 1.5


def busiest(stamps: list[float], window: float = 1.0) -> int:
    """The most grants in any half-open window of `window` seconds."""
    ordered, first, most = sorted(stamps), 0, 0
    for last, at in enumerate(ordered):
        while at - ordered[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    return most


class Run(NamedTuple):
    grants: list[float]
    asks: int


def run_grants(pacer: Pacer, k: str, rate: float, until: float, own_clock: bool) -> Run:
    """Take calls until `until`: with `now` given, the grants' `now`s; with the pacer's
    own clock, when each grant came back."""
    grants: list[float] = []
    asks = 0
    while (now := time.time()) < until:
        asks += 1
        delay = pacer.take(k, rate, BIG, None if own_clock else now)
        if delay == 0.0:
            grants.append(time.time() if own_clock else now)
        else:
            time.sleep(min(delay, 0.05))
    return Run(grants, asks)


def _process(
    spec: dict[str, Any],
    keys: tuple[str, str],
    rate: float,
    seconds: float,
    ready: Any,
    go: Event,
    start: Any,
    out: Any,
) -> None:
    """One spawned worker: its own connection, then grants from `start.value` on."""
    pacer, close = open_pacer(spec)
    try:
        ready.put(os.getpid())
        go.wait(60)
        time.sleep(max(0.0, start.value - time.time()))
        exact = run_grants(pacer, keys[0], rate, start.value + seconds, own_clock=False)
        own = Run([], 0)
        if spec["kind"] == "redis":  # and once more on the server's clock
            own = run_grants(pacer, keys[1], rate, start.value + 2 * seconds, own_clock=True)
        out.put((exact, own))
    finally:
        close()


def check_shared(runs: list[Run], rate: float, seconds: float, slack: int) -> None:
    # Every taker was asking all along; which one wins the slots is not promised (the
    # last winner knows the next slot best and often takes it).
    assert all(run.asks >= rate * seconds / 2 for run in runs), [run.asks for run in runs]
    merged = sorted(at for run in runs for at in run.grants)
    assert busiest(merged, 1.0 - 1e-4) <= rate + slack, busiest(merged)
    assert len(merged) <= rate * seconds + 1 + slack
    assert len(merged) >= rate * seconds * 0.5  # loose: the machine may be slow
    if slack == 0:  # exact `now`s: no two grants closer than the interval
        gaps = [b - a for a, b in zip(merged, merged[1:], strict=False)]
        assert min(gaps) >= 1 / rate - 1e-6


@pytest.mark.parametrize("kind", ["redis", *BACKENDS])
def test_processes_sharing_a_key_stay_inside_the_rate(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    rate, seconds = 20.0, 1.0
    database = blank_database(kind, tmp_path) if kind != "redis" else nullcontext("")
    with database as url:
        spec: dict[str, Any] = {"kind": kind}
        if kind == "redis":
            spec["prefix"] = request.getfixturevalue("redis_prefix")
        else:
            migrate.upgrade(url)
            spec["url"] = url
        context = multiprocessing.get_context("spawn")
        ready, out, go = context.Queue(), context.Queue(), context.Event()
        start = context.Value("d", 0.0)
        keys = (key(), key())
        workers = [
            context.Process(
                target=_process, args=(spec, keys, rate, seconds, ready, go, start, out)
            )
            for _ in range(2)
        ]
        for worker in workers:
            worker.start()
        try:
            for _ in workers:
                ready.get(timeout=30)
            start.value = time.time() + 0.1
            go.set()
            results = [out.get(timeout=30) for _ in workers]
        finally:
            for worker in workers:
                worker.join(timeout=10)
                if worker.is_alive():
                    worker.kill()
    check_shared([exact for exact, _ in results], rate, seconds, slack=0)
    if kind == "redis":
        check_shared([own for _, own in results], rate, seconds, slack=1)


def test_threads_sharing_a_memory_key_stay_inside_the_rate() -> None:
    pacer, k, rate, seconds = MemoryPacer(), key(), 20.0, 1.0
    until = time.time() + seconds
    runs = [Run([], 0)] * 3

    def run(i: int) -> None:
        runs[i] = run_grants(pacer, k, rate, until, own_clock=False)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(runs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    check_shared(runs, rate, seconds, slack=0)


@pytest.mark.parametrize("sql_url", BACKENDS, indirect=True)
def test_two_takers_of_a_new_key_get_one_call(sql_url: str) -> None:
    """Both find no row; on PostgreSQL both insert, and the loser retries on the row."""
    engine = connect(sql_url)
    pacers = [SqlPacer(engine), SqlPacer(engine)]
    try:
        for _ in range(8):
            assert sorted(_together(pacers, key())) == [0.0, pytest.approx(1.0)]
        with engine.connect() as connection:
            rows = connection.execute(select(ListingPace.day_calls)).scalars().all()
        assert rows == [1] * 8
    finally:
        for pacer in pacers:
            pacer.dispose()
        engine.dispose()


def _together(pacers: list[SqlPacer], k: str) -> list[float]:
    """Each pacer takes `k` at the same moment, from a thread of its own."""
    answers = [-1.0] * len(pacers)
    barrier = threading.Barrier(len(pacers))

    def take(i: int) -> None:
        barrier.wait()
        answers[i] = pacers[i].take(k, 1, BIG, now=T0)

    threads = [threading.Thread(target=take, args=(i,)) for i in range(len(pacers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


# --- what each backend keeps -----------------------------------------------------------


def test_redis_keys_expire_and_hold_no_credential(redis_prefix: str) -> None:
    client = redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    try:
        pacer, k = RedisPacer(client, redis_prefix), key()
        assert pacer.take(k, 5, 100) == 0.0
        stored = client.keys(f"{redis_prefix}*")
        assert stored == [redis_prefix + k] and SECRET not in stored[0]
        china_now = datetime.now(CHINA)
        midnight = (china_now + timedelta(days=1)).replace(hour=0, minute=0, second=0)
        left_ms = (midnight.replace(microsecond=0) - china_now).total_seconds() * 1000
        assert 0 < client.pttl(stored[0]) <= left_ms + 2000
        assert client.hget(stored[0], "calls") == "1"
    finally:
        client.close()


def test_sql_row_keeps_the_china_date(tmp_path: Path) -> None:
    with blank_database("sqlite", tmp_path) as url:
        migrate.upgrade(url)
        engine = connect(url)
        pacer, k = SqlPacer(engine), key()
        try:
            late = datetime(2026, 11, 11, 23, 30, tzinfo=CHINA).timestamp()
            assert pacer.take(k, 10, BIG, now=late) == 0.0
            assert pacer.take(k, 10, BIG, now=late + 1) == 0.0
            row = _row(engine, k)
            assert (row.day, row.day_calls) == ("2026-11-11", 2)
            assert row.tat == pytest.approx(late + 1.1)
        finally:
            pacer.dispose()
            engine.dispose()


def _row(engine: Engine, k: str) -> Any:
    with engine.connect() as connection:
        return connection.execute(select(ListingPace).where(ListingPace.key == k)).one()


def test_redis_down_is_a_clear_error() -> None:
    port = free_port()
    # No retries: the client's own back-off would only make the test slower.
    client = redis.Redis(host="127.0.0.1", port=port, retry=Retry(NoBackoff(), 0))
    with pytest.raises(PacerUnavailable) as down:
        RedisPacer(client).take(key(), 5, 100)
    assert f"127.0.0.1:{port}" in str(down.value)
    client.close()


# --- cost ------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["redis", "sqlite"], indirect=True)
def test_a_take_costs_well_under_a_millisecond(make_pacer: Callable[..., Pacer]) -> None:
    """The listing benchmark asks 500 times a second (10 shops x 50 calls/s)."""
    pacer = make_pacer()
    shops = [key(f"shop-{i}") for i in range(10)]
    costs = []
    for i in range(300):
        begun = time.perf_counter()
        pacer.take(shops[i % 10], 50, BIG)
        costs.append(time.perf_counter() - begun)
    median = statistics.median(costs)
    assert median < 0.001, f"median take {median * 1e6:.0f} us"
