"""A test API with a job queue, on both queues: the local process pool beside memory
stores, and RQ on Redis with real `omnistock worker` processes (started on demand)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis

from api.app import JOB_KINDS, create_app
from engine.access.repository import InMemoryKeyRepository
from engine.core.settings import Settings
from engine.jobs.base import JobQueue
from engine.jobs.local import LocalJobs
from engine.jobs.rq_queue import RqJobs
from engine.services.stores import StoreRegistry
from engine.store.memory import MemoryStore
from engine.store.redis_store import RedisStore

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's httpx2 notice, as in tests/api
    from fastapi.testclient import TestClient

REDIS_URL = os.environ.get("OMNISTOCK_REDIS_URL") or "redis://127.0.0.1:6379/15"
RULES = {"rules": [{"id": "r-safe", "type": "safety_stock", "quantity": 1}]}


def _children(pid: int) -> list[int]:
    """Process ids whose parent is `pid` (read from /proc: no extra dependency)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


class Worker:
    """An `omnistock worker` process. RQ runs each job in a forked work horse in a
    process group of its own, so `kill` takes the horse down as well, as a lost
    machine would."""

    def __init__(self, queue: str) -> None:
        env = {**os.environ, "OMNISTOCK_REDIS_URL": REDIS_URL}
        command = [sys.executable, "-m", "engine.cli", "worker", "--queue", queue]
        command += ["--heartbeat", "1", "--grace", "2"]
        self.process = subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        horses = _children(self.process.pid)
        self.process.kill()
        for pid in horses:
            # A work horse may have ended between the listing and the kill.
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.kill()


@dataclass
class Env:
    client: TestClient
    jobs: JobQueue
    tenant: str
    operator: dict[str, str]
    viewer: dict[str, str]
    stranger: dict[str, str]
    start_worker: Callable[[], Worker]

    def put_data(self, snapshot: dict[str, Any], rules: dict[str, Any] = RULES) -> None:
        c, op = self.client, self.operator
        assert c.put(
            "/v1/snapshot", json={**snapshot, "tenant": self.tenant}, headers=op
        ).is_success
        assert c.put("/v1/ruleset", json=rules, headers=op).is_success

    def job(self, job_id: str) -> dict[str, Any]:
        response = self.client.get(f"/v1/jobs/{job_id}", headers=self.operator)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def wait(
        self, job_id: str, until: Callable[[dict[str, Any]], bool], limit_s: float = 60
    ) -> dict[str, Any]:
        deadline = time.monotonic() + limit_s
        seen = []
        while time.monotonic() < deadline:
            job = self.job(job_id)
            seen.append(job["status"])
            if until(job):
                return job
            time.sleep(0.02)
        raise AssertionError(f"job {job_id} never got there; statuses seen: {sorted(set(seen))}")


def _headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(params=["local", "rq"])
def env(request: pytest.FixtureRequest) -> Iterator[Env]:
    tenant = f"t{uuid.uuid4().hex[:12]}"
    keys = InMemoryKeyRepository()
    workers: list[Worker] = []
    queue = f"test-{uuid.uuid4().hex[:8]}"
    jobs: JobQueue
    if request.param == "local":
        stores = StoreRegistry(MemoryStore)
        jobs = LocalJobs(stores, JOB_KINDS, workers=1)
    else:
        try:
            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
        except redis.RedisError:
            pytest.fail(f"Redis not reachable at {REDIS_URL} (set OMNISTOCK_REDIS_URL)")
        stores = StoreRegistry(lambda t: RedisStore(t, url=REDIS_URL), redis_url=REDIS_URL)
        jobs = RqJobs(REDIS_URL, JOB_KINDS, queue=queue)

    def start_worker() -> Worker:
        workers.append(Worker(queue))
        return workers[-1]

    app = create_app(Settings(), keys=keys, stores=stores, jobs=jobs)
    try:
        with TestClient(app) as client:
            yield Env(
                client,
                jobs,
                tenant,
                _headers(keys.create(tenant, "operator")[0]),
                _headers(keys.create(tenant, "brand_viewer", "b")[0]),
                _headers(keys.create(tenant + "-x", "operator")[0]),
                start_worker,
            )
    finally:
        for worker in workers:
            worker.stop()
        jobs.close()
        stores.close()
        if request.param == "rq":
            _clean_redis(tenant, queue)


def _clean_redis(tenant: str, queue: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    for pattern in (f"omnistock:{tenant}*", f"rq:*{queue}*"):
        for key in client.scan_iter(pattern):
            client.delete(key)
    for key in client.scan_iter("rq:job:*"):
        if client.type(key) == b"hash" and client.hget(key, "origin") == queue.encode():
            job_id = key.decode().removeprefix("rq:job:")
            client.delete(key, f"rq:results:{job_id}", f"rq:executions:{job_id}")
    client.srem("rq:queues", f"rq:queue:{queue}")  # RQ's list of known queues
    client.close()
