"""The RQ worker that runs jobs from the Redis queue (large plans, scenario runs).

Each job runs in a forked work horse, so a job that crashes or is killed takes only
itself down; the worker marks it failed (or retries it once). `omnistock worker`
(engine/cli/worker.py) starts one.
"""

from __future__ import annotations

from typing import Any

from engine.jobs.base import QUEUE

# A worker that dies without a word (SIGKILL, a lost machine) is noticed when its
# heartbeat lapses: every `heartbeat` seconds the worker renews it for heartbeat + grace.
MONITOR_S = 5
DEFAULT_GRACE_S = 10


class RedisUnreachable(Exception):
    """The worker's Redis does not answer."""


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


def run_worker(
    url: str,
    burst: bool = False,
    grace_s: int = DEFAULT_GRACE_S,
    heartbeat_s: int = MONITOR_S,
    queue: str = QUEUE,
    name: str | None = None,
) -> None:
    """Take jobs from `queue` on the Redis at `url` until stopped (or, with `burst`, until
    the queue is empty); RedisUnreachable when that Redis does not answer."""
    from redis import Redis, RedisError
    from rq import Queue

    connection = Redis.from_url(url)
    try:
        connection.ping()
    except RedisError as error:
        raise RedisUnreachable(str(error)) from None
    run = _worker_class(grace_s)(
        [Queue(queue, connection=connection)],
        connection=connection,
        name=name,
        job_monitoring_interval=heartbeat_s,
        maintenance_interval=30,  # retries jobs of dead workers even with no API reads
    )
    # With RQ's scheduler: the report schedules' tick is a job enqueued for a moment
    # ahead (engine/jobs/ticks.py); one worker at a time runs the scheduler (a Redis lock).
    run.work(burst=burst, with_scheduler=True)
