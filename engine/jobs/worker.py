"""`omnistock worker`: runs jobs from the Redis queue (large plans, scenario runs).

Start as many as there are cores to spare, on any machine that reaches the Redis of
OMNISTOCK_REDIS_URL. Each job runs in a forked work horse, so a job that crashes or is
killed takes only itself down; the worker marks it failed (or retries it once).
"""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from engine.jobs.base import QUEUE

# A worker that dies without a word (SIGKILL, a lost machine) is noticed when its
# heartbeat lapses: every `heartbeat` seconds the worker renews it for heartbeat + grace.
MONITOR_S = 5
DEFAULT_GRACE_S = 10


def _worker_class(grace_s: int) -> Any:
    from rq import Worker

    class OmnistockWorker(Worker):
        def get_heartbeat_ttl(self, job: Any, working_time: float = 0.0) -> int:
            # RQ's default adds 60 s of grace; a killed worker's job would sit "running"
            # that long before anyone retries it.
            if job.timeout and job.timeout > 0:
                left = job.timeout - working_time
                return int(min(left, self.job_monitoring_interval)) + grace_s
            return int(self.job_monitoring_interval) + grace_s

    return OmnistockWorker


def worker(
    burst: Annotated[bool, typer.Option(help="stop when the queue is empty")] = False,
    grace: Annotated[
        int,
        typer.Option(min=1, help="seconds past a missed heartbeat before a job is retried"),
    ] = DEFAULT_GRACE_S,
    heartbeat: Annotated[
        int, typer.Option(min=1, help="seconds between the worker's heartbeats")
    ] = MONITOR_S,
    queue: Annotated[str, typer.Option(help="the queue to take jobs from")] = QUEUE,
    name: Annotated[str | None, typer.Option(help="worker name (default: host and pid)")] = None,
) -> None:
    """Run queued jobs from Redis (OMNISTOCK_REDIS_URL). The embedded default needs no
    worker: without Redis, `omnistock serve` runs jobs in its own process pool."""
    url = os.environ.get("OMNISTOCK_REDIS_URL")
    if not url:
        typer.echo(
            "error: omnistock worker takes jobs from Redis: set OMNISTOCK_REDIS_URL "
            "(e.g. redis://127.0.0.1:6379/0), the same as the API's",
            err=True,
        )
        raise typer.Exit(2)
    from redis import Redis, RedisError
    from rq import Queue

    connection = Redis.from_url(url)
    try:
        connection.ping()
    except RedisError as error:
        typer.echo(f"error: Redis at OMNISTOCK_REDIS_URL does not answer: {error}", err=True)
        raise typer.Exit(2) from None
    run = _worker_class(grace)(
        [Queue(queue, connection=connection)],
        connection=connection,
        name=name,
        job_monitoring_interval=heartbeat,
        maintenance_interval=30,  # retries jobs of dead workers even with no API reads
    )
    run.work(burst=burst, with_scheduler=False)
