"""`omnistock worker`: runs jobs from the Redis queue (large plans, scenario runs).

Start as many as there are cores to spare, on any machine that reaches the Redis of
OMNISTOCK_REDIS_URL.
"""

from __future__ import annotations

from typing import Annotated

import typer

from engine.cli.common import read_settings
from engine.jobs.base import QUEUE
from engine.jobs.worker import DEFAULT_GRACE_S, MONITOR_S, RedisUnreachable, run_worker
from engine.runtime.process import prepare_process


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
    config = read_settings()
    if not config.redis_url:
        typer.echo(
            "error: omnistock worker takes jobs from Redis: set OMNISTOCK_REDIS_URL "
            "(e.g. redis://127.0.0.1:6379/0), the same as the API's",
            err=True,
        )
        raise typer.Exit(2)
    # Work horses are forked from this process: they start with its allocator settings.
    prepare_process(config)
    try:
        run_worker(config.redis_url, burst, grace, heartbeat, queue, name)
    except RedisUnreachable as error:
        typer.echo(f"error: Redis at OMNISTOCK_REDIS_URL does not answer: {error}", err=True)
        raise typer.Exit(2) from None
