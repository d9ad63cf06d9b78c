"""Work that recurs: a tick calls a function every few seconds (the report schedules'
`fire_due`, composed by the services). On Redis it is RQ's scheduler: each tick is a job
enqueued for a moment ahead (`Queue.enqueue_at`), run by any `omnistock worker` started
with the scheduler, and it arms the next tick before running, so a worker killed during
a tick does not end the chain. On the embedded default it is a timer thread beside the
local pool.

A tick's job id is its name and its time slot, so several servers arming the same tick
at once make one job, not several. A tick may still run twice in odd cases (a slot
armed by a server starting just as a worker re-arms it); what it calls must be
idempotent - `fire_due` is, by its claims.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from engine.jobs.base import QUEUE

__all__ = ["RqTicker", "ThreadTicker", "Tick", "Ticker", "run_tick", "tick_job_id"]

log = logging.getLogger(__name__)

# A tick: a module-level function (RQ sends it by module and name) of JSON arguments.
Tick = Callable[[dict[str, Any]], Any]
# A tick's job stays in RQ's registries this long after it ran (enough to see the last
# few in `rq info`, not a week of them per minute).
KEEP_S = 3600


class Ticker(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


def tick_job_id(name: str, at: float) -> str:
    """The job id of the tick `name` due at `at` (epoch seconds, whole)."""
    return f"omnistock-tick-{name}-{math.floor(at)}"


def _next_slot(every_s: float, now: float) -> float:
    """The next multiple of `every_s` after `now`: every server agrees on it."""
    return (math.floor(now / every_s) + 1) * every_s


class RqTicker:
    """The tick `name` on RQ over the Redis at `url`: `start` arms it (safe to call from
    every server at start), a worker with the scheduler runs it every `every_s`."""

    def __init__(
        self,
        url: str,
        name: str,
        tick: Tick,
        args: dict[str, Any],
        every_s: float,
        queue: str = QUEUE,
    ) -> None:
        self._url, self._name, self._tick, self._args = url, name, tick, args
        self._every_s = every_s
        self._queue = queue

    def start(self) -> None:
        arm(self._url, self._name, self._tick, self._args, self._every_s, self._queue)

    def stop(self) -> None:
        """Nothing to stop here: the tick lives in Redis and goes on while any worker
        runs it (a deployment stops it by stopping its workers)."""


def arm(
    url: str, name: str, tick: Tick, args: dict[str, Any], every_s: float, queue: str = QUEUE
) -> str:
    """Enqueue the next tick for its slot; returns its job id."""
    from redis import Redis
    from rq import Queue

    at = _next_slot(every_s, time.time())
    job_id = tick_job_id(name, at)
    connection = Redis.from_url(url)
    try:
        Queue(queue, connection=connection).enqueue_at(
            datetime.fromtimestamp(at, UTC),
            run_tick,
            url,
            name,
            tick,
            args,
            every_s,
            queue,
            job_id=job_id,
            result_ttl=KEEP_S,
            failure_ttl=KEEP_S,
        )
    finally:
        connection.close()
    return job_id


def run_tick(
    url: str, name: str, tick: Tick, args: dict[str, Any], every_s: float, queue: str = QUEUE
) -> Any:
    """What a worker runs: arm the next tick first (a tick that dies here does not end
    the chain), then this one."""
    arm(url, name, tick, args, every_s, queue)
    return tick(args)


class ThreadTicker:
    """The tick in a thread of this process (the embedded default): at `start`, then
    every `every_s` after the previous one ended; ticks never overlap. A tick that
    raises is logged and the next one comes as usual."""

    def __init__(self, name: str, tick: Tick, args: dict[str, Any], every_s: float) -> None:
        self._name, self._tick, self._args, self._every_s = name, tick, args, every_s
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.ticks = 0  # ticks run, for the health of the tick (and tests)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name=f"tick-{self._name}", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop after the running tick, if any (waiting at most `timeout_s`)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self._tick(self._args)
            except Exception:  # a bad tick must not stop the schedule
                log.exception("tick %s failed", self._name)
            self.ticks += 1
            self._stopping.wait(self._every_s)
