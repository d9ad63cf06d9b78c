"""The local job pool's bookkeeping (engine/jobs/local.py), with real pool processes: a
job waiting in line has made no attempt, a job sent back in line after its process
died shows no stage of the lost run, and a failure's causes come back whole."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest

from api.app import JOB_KINDS
from engine.demo import build_demo
from engine.jobs.base import JobInfo
from engine.jobs.local import LocalJobs
from engine.services.stores import StoreRegistry
from engine.store.memory import MemoryStore
from tests.helpers import snapshot_data

TENANT = "demo"


@pytest.fixture
def pool() -> Iterator[tuple[LocalJobs, StoreRegistry]]:
    stores = StoreRegistry(MemoryStore)
    jobs = LocalJobs(stores, JOB_KINDS, workers=1)
    yield jobs, stores
    jobs.close()


def _put(stores: StoreRegistry, skus: int) -> None:
    snapshot, rules = build_demo(skus=skus)
    store = stores.get(TENANT)
    store.put_snapshot({**snapshot, "tenant": TENANT})
    store.put_ruleset(rules)


def _until(jobs: LocalJobs, job_id: str, done: object, limit_s: float = 60) -> JobInfo:
    deadline = time.monotonic() + limit_s
    while True:
        job = jobs.get(TENANT, job_id)
        if done(job):  # type: ignore[operator]
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.01)


def test_a_job_waiting_in_line_has_made_no_attempt(
    pool: tuple[LocalJobs, StoreRegistry],
) -> None:
    jobs, stores = pool
    _put(stores, 3000)  # a plan of a few seconds holds the one pool process
    first = jobs.submit(TENANT, "plan", {"mode": None, "time_limit_s": 60})
    assert first.attempts == 0 and first.progress.stage == "queued"
    second = jobs.submit(TENANT, "plan", {"mode": None, "time_limit_s": 60})
    _until(jobs, first.id, lambda j: j.status == "running")
    waiting = jobs.get(TENANT, second.id)
    assert (waiting.status, waiting.attempts, waiting.progress.stage) == ("queued", 0, "queued")
    assert jobs.get(TENANT, first.id).attempts == 1
    done = _until(jobs, second.id, lambda j: j.status == "finished", limit_s=120)
    assert done.attempts == 1


def test_a_job_back_in_line_shows_no_stage_of_the_lost_run(
    pool: tuple[LocalJobs, StoreRegistry],
) -> None:
    jobs, stores = pool
    _put(stores, 3000)
    job = jobs.submit(TENANT, "plan", {"mode": None, "time_limit_s": 60})
    running = _until(
        jobs, job.id, lambda j: j.status == "running" and j.progress.stage != "started"
    )
    assert running.progress.stage in {"read", "index", "compile", "solve", "post", "plan"}
    for pid in jobs.pool_pids():
        os.kill(pid, signal.SIGKILL)
    seen: list[tuple[str, str, int]] = []

    def second_run(j: JobInfo) -> bool:
        seen.append((j.status, j.progress.stage, j.attempts))
        return j.attempts == 2 or j.status != "running" and j.status != "queued"

    _until(jobs, job.id, second_run)
    waiting = [(stage, attempts) for status, stage, attempts in seen if status == "queued"]
    assert waiting, f"never seen back in line: {seen}"
    assert set(waiting) == {("retrying", 1)}, seen
    finished = _until(jobs, job.id, lambda j: j.status == "finished", limit_s=120)
    assert finished.attempts == 2


def test_a_failure_comes_back_with_its_causes(pool: tuple[LocalJobs, StoreRegistry]) -> None:
    jobs, stores = pool
    store = stores.get(TENANT)
    store.put_snapshot({**snapshot_data(pools={"S": 10}), "tenant": TENANT})
    store.put_ruleset({"rules": [{"id": "r-fix", "type": "fixed", "quantities": {"A": 50}}]})
    job = jobs.submit(TENANT, "plan", {"mode": None, "time_limit_s": 60})
    failed = _until(jobs, job.id, lambda j: j.status == "failed")
    assert failed.error is not None and failed.error.startswith("1 conflict(s)")
    assert failed.error_parts is not None
    assert [part["brands"] for part in failed.error_parts] == [["b"]]
    assert "r-fix" in failed.error_parts[0]["text"]
    assert "error_parts" not in failed.to_json()
