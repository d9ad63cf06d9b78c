"""The marketplace call limiter: every worker of a deployment stays inside each shop's
quota together.

A platform limits calls per app key, shop and method, per second and per day (Pinduoduo's
pdd.goods.add: 3 a second, 1,200 a day per shop). Listing jobs run on several processes,
and brands of one agency may share an app key, so the limiter's state is shared: in Redis
when the deployment has one (`RedisPacer`), else in the relational database
(`SqlPacer`, table listing_pace); `MemoryPacer` serves one process (tests, local tools).

The per-second limit is GCRA (the generic cell rate algorithm): each key keeps the
theoretical arrival time (TAT) of its next call; a call may go when it is no earlier than
TAT less the burst tolerance, and moves TAT one interval (1 / per_second) on. A burst of 1,
the default, spaces calls evenly, so no second ever holds more than the rate allows. The
per-day limit is a counter of the China day (platforms count calls by Beijing date, UTC+8):
once the day's calls are used up, `take` raises `QuotaExhausted` with the time the quota
comes back, so a job fails its items with that reason instead of sleeping for hours.

`take` never sleeps: it answers 0.0 (the call may go now, and is counted) or the seconds
to wait before asking again (nothing counted). `wait` loops over it for a caller that
does want to sleep.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, NamedTuple, Protocol

import redis
from sqlalchemy import Connection, Engine, bindparam, event, insert, select, text, update
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from engine.core.errors import InputError, Issue, OmnistockError
from engine.db.connect import connect, unavailable, writer
from engine.db.errors import Conflict
from engine.listing.tables import PACE_KEY, ListingPace

__all__ = [
    "CHINA",
    "KeyParts",
    "MemoryPacer",
    "Pacer",
    "PacerUnavailable",
    "QuotaExhausted",
    "QuotaZero",
    "RedisPacer",
    "SqlPacer",
    "key_parts",
    "pace_key",
    "wait",
]

CHINA = timezone(timedelta(hours=8), "China")
DAY_S = 86_400
CHINA_OFFSET_S = 8 * 3600
# `wait` sleeps at most this long before asking again, so a cancelled job stops soon
# even when the limit is one call a minute.
MAX_NAP_S = 1.0
# A wait is never reported as 0.0 (which means "go"), however close the next slot is.
MIN_WAIT_S = 1e-6
# The longest a key's Redis state lives unused: past the day's end and its next slot,
# capped so that an absurd limit (one call a century) cannot overflow PEXPIRE.
MAX_KEY_LIFE_S = 400 * DAY_S

# The key's parts: separated by ':', each with '%' and ':' escaped, each at most this long
# (a longer one keeps its head and ends in '~' and a hash of the whole), so a key of the
# four never passes the 300 characters of listing_pace.key.
_SEP = ":"
_PLATFORM_MAX, _PART_MAX, _HASH = 32, 120, 16
assert _PLATFORM_MAX + _HASH + 2 * _PART_MAX + 3 <= PACE_KEY


# --- keys ----------------------------------------------------------------------------


class KeyParts(NamedTuple):
    """What a limiter key says: the platform, a hash of the app key (never the key
    itself), the shop and the method, as `pace_key` wrote them."""

    platform: str
    app: str
    shop: str
    method: str


def pace_key(platform: str, app_key: str, shop: str, method: str) -> str:
    """The limiter key of one app key's calls of one method for one shop.

    The app key is a credential, so only the first 16 hex digits of its SHA-256 appear;
    that still tells two app keys apart, which matters: each has its own quota.
    """
    names = {"platform": platform, "app_key": app_key, "shop": shop, "method": method}
    issues = [Issue(name, "must not be empty") for name, value in names.items() if not value]
    if issues:
        raise InputError(issues, "a call limiter key")
    app = hashlib.sha256(app_key.encode()).hexdigest()[:_HASH]
    parts = (_part(platform, _PLATFORM_MAX), app, _part(shop, _PART_MAX), _part(method, _PART_MAX))
    return _SEP.join(parts)


def key_parts(key: str) -> KeyParts | None:
    """The parts of a key made by `pace_key`; None for any other string."""
    parts = key.split(_SEP)
    if len(parts) != 4:
        return None
    platform, app, shop, method = (_unescape(p) for p in parts)
    return KeyParts(platform, app, shop, method)


def _part(value: str, limit: int) -> str:
    escaped = value.replace("%", "%25").replace(_SEP, "%3A")
    if len(escaped) <= limit:
        return escaped
    head = escaped[: limit - _HASH - 1]
    # Do not cut an escape in two: "%3" would read back as text.
    cut = head.rfind("%", len(head) - 2)
    if cut != -1:
        head = head[:cut]
    return f"{head}~{hashlib.sha256(value.encode()).hexdigest()[:_HASH]}"


def _unescape(part: str) -> str:
    return part.replace("%3A", _SEP).replace("%25", "%")


def _where(key: str) -> str:
    """The key in words for messages: the platform, shop and method, never the app key."""
    parts = key_parts(key)
    if parts is None:
        return f"call limiter {key!r}"
    return f"{parts.platform} shop {parts.shop!r}, method {parts.method}"


# --- errors --------------------------------------------------------------------------


class QuotaExhausted(OmnistockError):
    """The day's calls of a shop and method are used up; they come back at `resets_at`
    (midnight China time)."""

    def __init__(self, key: str, per_day: int, resets_at: datetime) -> None:
        self.key = key
        self.per_day = per_day
        self.resets_at = resets_at
        self.parts = key_parts(key)
        shown = resets_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
        super().__init__(
            f"{_where(key)}: the {per_day} calls a day are used up; "
            f"calls resume at {shown} China time (UTC+8)"
        )


class QuotaZero(InputError):
    """A limit that allows no call at all (or is not a number): refused before anything
    is counted, naming the shop and method it was given for."""

    def __init__(self, key: str, issues: list[Issue]) -> None:
        self.key = key
        self.parts = key_parts(key)
        super().__init__(issues, f"the call limit of {_where(key)}")


class PacerUnavailable(OmnistockError):
    """The limiter's shared state cannot be reached (Redis down): nobody may call, since
    nobody can tell whether the quota allows it. The database's own failures are
    engine.db.errors.DatabaseUnavailable."""

    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = reason
        super().__init__(f"the call limiter at {where} is not available: {reason}")


def _check_limits(key: str, per_second: float, per_day: int) -> None:
    issues = []
    # `not x > 0` also refuses NaN, which compares false with everything.
    if not per_second > 0:
        issues.append(Issue("per_second", f"must be more than 0 calls a second, not {per_second}"))
    if not per_day > 0:
        issues.append(Issue("per_day", f"must be more than 0 calls a day, not {per_day}"))
    if issues:
        raise QuotaZero(key, issues)


def _check_burst(burst: int) -> int:
    if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
        raise InputError([Issue("burst", f"must be a whole number of calls >= 1, not {burst!r}")])
    return burst


# --- the algorithm -------------------------------------------------------------------


class Pacer(Protocol):
    """A call limiter: `take` answers 0.0 when the call may go now (and counts it), else
    the seconds to wait before asking again (counting nothing). Raises QuotaExhausted
    when the China day's calls are used up, QuotaZero for a limit of zero."""

    def take(self, key: str, per_second: float, per_day: int, now: float | None = None) -> float:
        """`now` (seconds since the epoch) is for tests; callers leave it out."""
        ...


@dataclass(frozen=True)
class _Cell:
    """One key's state: the next call's theoretical arrival time, the China day (days
    since 1970-01-01) and the calls made on it."""

    tat: float
    day: int
    calls: int


class _Verdict(NamedTuple):
    wait: float  # 0.0: granted
    cell: _Cell | None  # the state to keep, when granted
    exhausted_day: int | None  # the day whose calls are used up


def _china_day(now: float) -> int:
    return math.floor((now + CHINA_OFFSET_S) / DAY_S)


def _day_start(day: int) -> float:
    return float(day * DAY_S - CHINA_OFFSET_S)


def _decide(
    cell: _Cell | None, now: float, interval: float, tolerance: float, per_day: int
) -> _Verdict:
    """GCRA and the day counter, the same steps as the Lua script of RedisPacer."""
    day = _china_day(now)
    calls = cell.calls if cell is not None and cell.day == day else 0
    if calls >= per_day:
        return _Verdict(0.0, None, day)
    tat = max(cell.tat, now) if cell is not None else now
    early = tat - now - tolerance
    if early > 0:
        return _Verdict(max(early, MIN_WAIT_S), None, None)
    return _Verdict(0.0, _Cell(tat + interval, day, calls + 1), None)


def _interval(per_second: float) -> float:
    # An unlimited rate (math.inf, what shapes.limit_for gives an unknown method) spaces
    # calls by nothing.
    return 1.0 / per_second


def _outcome(key: str, per_day: int, verdict: _Verdict) -> float:
    if verdict.exhausted_day is not None:
        resets = datetime.fromtimestamp(_day_start(verdict.exhausted_day + 1), UTC)
        raise QuotaExhausted(key, per_day, resets.astimezone(CHINA))
    return verdict.wait


def wait(
    pacer: Pacer,
    key: str,
    per_second: float,
    per_day: int,
    sleep: Callable[[float], Any] = time.sleep,
    cancelled: Callable[[], bool] = lambda: False,
) -> bool:
    """Sleep until the call may go; True then (the call is counted). False when
    `cancelled()` says so, checked before each ask (so a cancelled job spends no call).
    QuotaExhausted and QuotaZero come through as `take` raises them."""
    while not cancelled():
        delay = pacer.take(key, per_second, per_day)
        if delay == 0.0:
            return True
        sleep(min(delay, MAX_NAP_S))
    return False


# --- in one process ------------------------------------------------------------------


class MemoryPacer:
    """The limiter for one process (its threads share it): tests and local tools."""

    def __init__(self, burst: int = 1) -> None:
        self.burst = _check_burst(burst)
        self._cells: dict[str, _Cell] = {}
        self._lock = threading.Lock()

    def take(self, key: str, per_second: float, per_day: int, now: float | None = None) -> float:
        _check_limits(key, per_second, per_day)
        interval = _interval(per_second)
        with self._lock:
            at = time.time() if now is None else now
            verdict = _decide(
                self._cells.get(key), at, interval, (self.burst - 1) * interval, per_day
            )
            if verdict.cell is not None:
                self._cells[key] = verdict.cell
        return _outcome(key, per_day, verdict)


# --- Redis ---------------------------------------------------------------------------

# KEYS[1]: the key's hash (tat, day, calls). ARGV: interval, tolerance, per_day, now
# ("" to use the server's clock). Returns {0, "0"} granted, {1, wait} too early,
# {2, day} the day's calls used up. Numbers go back as strings: Redis would truncate a
# Lua number to an integer.
_TAKE = """
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local per_day = tonumber(ARGV[3])
local now
if ARGV[4] == '' then
  local clock = redis.call('TIME')
  now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
else
  now = tonumber(ARGV[4])
end
local day = math.floor((now + 28800) / 86400)
local cell = redis.call('HMGET', KEYS[1], 'tat', 'day', 'calls')
local calls = 0
if tonumber(cell[2]) == day then calls = tonumber(cell[3]) or 0 end
if calls >= per_day then return {2, string.format('%d', day)} end
local tat = tonumber(cell[1]) or now
if tat < now then tat = now end
local early = tat - now - tolerance
if early > 0 then return {1, string.format('%.17g', early)} end
tat = tat + interval
redis.call('HSET', KEYS[1], 'tat', string.format('%.17g', tat),
  'day', string.format('%d', day), 'calls', string.format('%d', calls + 1))
-- Kept while it matters: until the day's end (the counter) or the next slot (the TAT).
local life = math.max(tat - now, (day + 1) * 86400 - 28800 - now)
life = math.min(life, tonumber(ARGV[5]))
redis.call('PEXPIRE', KEYS[1], math.ceil(life * 1000) + 1000)
return {0, '0'}
"""
_GRANTED, _EARLY, _EXHAUSTED = 0, 1, 2


class RedisPacer:
    """The limiter on Redis: one Lua script per take, so check and count are one atomic
    step for every worker, timed by the Redis server's clock (the workers' clocks may
    differ). Keys are `prefix` + the limiter key and expire once idle past the day."""

    def __init__(self, client: redis.Redis, prefix: str = "omnistock:pace:", burst: int = 1):
        self.burst = _check_burst(burst)
        self.prefix = prefix
        self._client = client
        self._take = client.register_script(_TAKE)

    def take(self, key: str, per_second: float, per_day: int, now: float | None = None) -> float:
        """`now`, for tests only, replaces the server's clock."""
        _check_limits(key, per_second, per_day)
        interval = _interval(per_second)
        args = [
            repr(interval),
            repr((self.burst - 1) * interval),
            str(per_day),
            "" if now is None else repr(now),
            str(MAX_KEY_LIFE_S),
        ]
        try:
            code, value = self._take(keys=[self.prefix + key], args=args)
        except redis.RedisError as error:
            raise PacerUnavailable(self._where(), " ".join(str(error).split())) from None
        if code == _EXHAUSTED:
            return _outcome(key, per_day, _Verdict(0.0, None, int(value)))
        if code == _EARLY:
            return max(float(value), MIN_WAIT_S)
        return 0.0

    def _where(self) -> str:
        options = self._client.connection_pool.connection_kwargs
        if "path" in options:
            return f"redis unix socket {options['path']}"
        return f"redis {options.get('host', '?')}:{options.get('port', '?')}/{options.get('db', 0)}"


# --- the relational database ---------------------------------------------------------

_READ = (
    select(ListingPace.tat, ListingPace.day, ListingPace.day_calls)
    .where(ListingPace.key == bindparam("key"))
    .with_for_update()  # PostgreSQL: lock the row; SQLite renders nothing (BEGIN IMMEDIATE)
)
_INSERT = insert(ListingPace)
# The columns set are the parameters given besides pace_key.
_UPDATE = update(ListingPace).where(ListingPace.key == bindparam("pace_key"))
# PostgreSQL: the server's clock, read once the row is locked (workers on several
# machines agree on it), and no wait for the WAL flush at commit: a crash that loses the
# last few grants costs at worst a call or two too early, never a wrong record elsewhere.
_PG_NOW = text(
    "SELECT set_config('synchronous_commit', 'off', true), "
    "extract(epoch FROM clock_timestamp())::float8"
)
# A take that lost the race to insert a new key's row runs again, and then finds it.
_ATTEMPTS = 3
_EPOCH = date(1970, 1, 1)


class SqlPacer:
    """The limiter in the relational database (table listing_pace): one short write
    transaction per take. SQLite takes the file's write lock at BEGIN, so takers queue;
    PostgreSQL locks the key's row (SELECT ... FOR UPDATE), and two takers inserting a
    new key at once leave one to retry against the other's row."""

    def __init__(self, engine: Engine, burst: int = 1) -> None:
        self.burst = _check_burst(burst)
        if engine.dialect.name == "sqlite":
            engine = _relaxed_sqlite(engine)
            self._own: Engine | None = engine
        else:
            self._own = None
        self._engine = engine
        self._writer = writer(engine)

    def dispose(self) -> None:
        """Close the connections the pacer opened itself (SQLite's); the engine it was
        given stays its owner's."""
        if self._own is not None:
            self._own.dispose()

    def take(self, key: str, per_second: float, per_day: int, now: float | None = None) -> float:
        """`now`, for tests only, replaces the clock (this machine's on SQLite, the
        server's on PostgreSQL)."""
        _check_limits(key, per_second, per_day)
        interval = _interval(per_second)
        tolerance = (self.burst - 1) * interval
        for attempt in range(_ATTEMPTS):
            try:
                with self._writer.begin() as connection:
                    verdict = self._take(connection, key, now, interval, tolerance, per_day)
                return _outcome(key, per_day, verdict)
            except IntegrityError:
                if attempt == _ATTEMPTS - 1:
                    raise Conflict(f"{_where(key)}: its limiter row kept changing") from None
            except (OperationalError, InterfaceError) as error:
                raise unavailable(self._engine, error) from None
        raise AssertionError("unreachable")

    def _take(
        self,
        connection: Connection,
        key: str,
        now: float | None,
        interval: float,
        tolerance: float,
        per_day: int,
    ) -> _Verdict:
        row = connection.execute(_READ, {"key": key}).first()
        if connection.dialect.name == "postgresql":
            clock = float(connection.execute(_PG_NOW).one()[1])
        else:
            clock = time.time()  # the write lock is held: no other taker is between
        at = clock if now is None else now
        cell = None
        if row is not None:
            cell = _Cell(row.tat, (date.fromisoformat(row.day) - _EPOCH).days, row.day_calls)
        verdict = _decide(cell, at, interval, tolerance, per_day)
        if verdict.cell is not None:
            values = {
                "tat": verdict.cell.tat,
                "day": (_EPOCH + timedelta(days=verdict.cell.day)).isoformat(),
                "day_calls": verdict.cell.calls,
            }
            if row is None:
                connection.execute(_INSERT, {"key": key, **values})
            else:
                connection.execute(_UPDATE, {"pace_key": key, **values})
        return verdict


def _relaxed_sqlite(engine: Engine) -> Engine:
    """A second engine on the same SQLite file whose commits do not wait for the disk.

    The shared one syncs the WAL at every commit (synchronous FULL): catalog and job
    records must survive a power cut. A take commits hundreds of times a second, and the
    sync would cost it more than the rest of it; what a power cut can lose here is the
    last grants, which at worst lets a call or two go early (the platform answers those
    with a rate-limit error). A crashed process loses nothing either way: WAL content
    reaches the operating system at commit. synchronous NORMAL is per connection, hence
    a pool of the pacer's own.
    """
    own = connect(engine.url.render_as_string(hide_password=False))
    event.listen(own, "connect", _sync_at_checkpoints)
    own.dispose()  # the connection `connect` made to prove the file predates the listener
    return own


def _sync_at_checkpoints(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()
