"""Plans as jobs, on both queues: the local process pool beside a memory store, and RQ
on Redis with real `omnistock worker` processes. Covers 202 + polling to a stored plan,
the size threshold, progress, failures, cancelling, access, and a worker process killed
mid-job (the job is retried, never left running with nobody on it)."""

from __future__ import annotations

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

from api.app import create_app
from api.config import Settings
from engine.access.repository import InMemoryKeyRepository
from engine.demo import build_demo
from engine.jobs.local import LocalJobs
from engine.jobs.model import JobQueue
from engine.jobs.rq_queue import RqJobs
from engine.service import StoreRegistry
from engine.store.memory import MemoryStore
from engine.store.redis_store import RedisStore
from tests.helpers import snapshot_data

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
        jobs = LocalJobs(stores, workers=1)
    else:
        try:
            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
        except redis.RedisError:
            pytest.fail(f"Redis not reachable at {REDIS_URL} (set OMNISTOCK_REDIS_URL)")
        stores = StoreRegistry(lambda t: RedisStore(t, url=REDIS_URL), redis_url=REDIS_URL)
        jobs = RqJobs(REDIS_URL, queue=queue)

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
        if client.hget(key, "origin") == queue.encode():
            client.delete(key)
    client.close()


def _start_plan(env: Env, body: dict[str, Any] | None = None) -> str:
    response = env.client.post(
        "/v1/plans", json={"run": "job", **(body or {})}, headers=env.operator
    )
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == f"/v1/jobs/{job['id']}"
    assert job["status"] == "queued" and job["kind"] == "plan"
    return str(job["id"])


def _ended(job: dict[str, Any]) -> bool:
    return job["status"] in {"finished", "failed", "cancelled"}


def test_a_plan_job_stores_the_same_plan_as_a_request(env: Env) -> None:
    if isinstance(env.jobs, RqJobs):
        env.start_worker()
    env.put_data(snapshot_data(pools={"S": 10, "T": 4}))
    job_id = _start_plan(env)
    job = env.wait(job_id, _ended)
    assert job["status"] == "finished", job
    assert job["progress"]["stage"] == "done" and job["progress"]["fraction"] == 1.0
    assert job["attempts"] == 1 and job["error"] is None
    plan_id = job["result"]["plan_id"]
    assert job["result"]["url"] == f"/v1/plans/{plan_id}"

    from_job = env.client.get(f"/v1/plans/{plan_id}", headers=env.operator).json()
    now = env.client.post("/v1/plans", json={"run": "now"}, headers=env.operator).json()
    assert from_job["plan"]["allocations"] == now["plan"]["allocations"]
    assert from_job["stock_version"] == 1 and from_job["ruleset_version"] == 1


def test_above_the_size_limit_a_plan_request_becomes_a_job(env: Env) -> None:
    env.client.app.state.settings.sync_plan_max_cells = 5  # type: ignore[attr-defined]
    env.put_data(snapshot_data(pools={"S": 10, "T": 4}))  # 2 SKUs x 3 shops = 6 cells
    assert env.client.post("/v1/plans", json={}, headers=env.operator).status_code == 202
    env.client.app.state.settings.sync_plan_max_cells = 6  # type: ignore[attr-defined]
    assert env.client.post("/v1/plans", headers=env.operator).status_code == 200


def test_a_job_whose_rules_conflict_fails_saying_why(env: Env) -> None:
    if isinstance(env.jobs, RqJobs):
        env.start_worker()
    rules = {"rules": [{"id": "r-fix", "type": "fixed", "quantities": {"A": 50}}]}
    env.put_data(snapshot_data(pools={"S": 10}), rules)
    job = env.wait(_start_plan(env), _ended)
    assert job["status"] == "failed"
    assert "r-fix" in job["error"] and "Traceback" not in job["error"]


def test_jobs_are_the_tenants_own(env: Env) -> None:
    env.put_data(snapshot_data(pools={"S": 10}))
    job_id = _start_plan(env)  # no worker on RQ: it stays queued
    c = env.client
    assert c.get(f"/v1/jobs/{job_id}", headers=env.viewer).status_code == 200
    assert c.delete(f"/v1/jobs/{job_id}", headers=env.viewer).status_code == 403
    for method in (c.get, c.delete):
        response = method(f"/v1/jobs/{job_id}", headers=env.stranger)
        assert response.status_code == 404 and response.json()["detail"]["what"] == "job"
    assert c.get("/v1/jobs/nope", headers=env.operator).status_code == 404
    assert c.post("/v1/plans", json={"run": "job"}, headers=env.viewer).status_code == 403
    assert c.post("/v1/plans", json={"run": "later"}, headers=env.operator).status_code == 422


def test_a_queued_job_can_be_cancelled_once(env: Env) -> None:
    env.put_data(snapshot_data(pools={"S": 10}))
    if isinstance(env.jobs, LocalJobs):  # one pool process: a slow first job holds it
        env.put_data(_demo(2000))
        _start_plan(env)
    job_id = _start_plan(env)
    response = env.client.delete(f"/v1/jobs/{job_id}", headers=env.operator)
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    again = env.client.delete(f"/v1/jobs/{job_id}", headers=env.operator)
    assert again.status_code == 409 and "cancelled" in again.json()["detail"]["message"]
    if isinstance(env.jobs, RqJobs):
        env.start_worker()
    time.sleep(1.0)  # had the cancel not held, a worker would have picked it up by now
    assert env.job(job_id)["status"] == "cancelled"


def _demo(skus: int) -> dict[str, Any]:
    snapshot, _ = build_demo(skus=skus)
    return snapshot


def test_a_worker_killed_mid_job_gets_its_job_retried(env: Env) -> None:
    snapshot, rules = build_demo(skus=3000)  # a plan of a few seconds
    env.put_data(snapshot, rules)
    rq = isinstance(env.jobs, RqJobs)
    first = env.start_worker() if rq else None
    job_id = _start_plan(env)
    env.wait(job_id, lambda job: job["status"] == "running" and job["attempts"] == 1)
    if first is not None:
        first.kill()
        # The dead worker's heartbeat lapses (1 s + 2 s grace); the job goes back in line.
        requeued = env.wait(job_id, lambda job: job["status"] == "queued", limit_s=30)
        assert requeued["attempts"] == 1
        env.start_worker()
    else:
        assert isinstance(env.jobs, LocalJobs)
        for pid in env.jobs.pool_pids():
            os.kill(pid, signal.SIGKILL)
    job = env.wait(job_id, _ended, limit_s=120)
    assert job["status"] == "finished", job
    assert job["attempts"] == 2
    plan = env.client.get(job["result"]["url"], headers=env.operator)
    assert plan.status_code == 200


def test_a_job_lost_twice_fails_with_the_cause() -> None:
    stores = StoreRegistry(MemoryStore)
    jobs = LocalJobs(stores, workers=1)
    try:
        snapshot, rules = build_demo(skus=3000)
        store = stores.get("demo")
        store.put_snapshot({**snapshot, "tenant": "demo"})
        store.put_ruleset(rules)
        job = jobs.submit("demo", "plan", {"mode": None, "time_limit_s": 60})
        for attempt in (1, 2):
            deadline = time.monotonic() + 60
            while (
                jobs.get("demo", job.id).attempts < attempt
                or jobs.get("demo", job.id).status != "running"
            ):
                assert time.monotonic() < deadline, jobs.get("demo", job.id)
                time.sleep(0.02)
            for pid in jobs.pool_pids():
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while jobs.get("demo", job.id).status != "failed":
            assert time.monotonic() < deadline, jobs.get("demo", job.id)
            time.sleep(0.02)
        failed = jobs.get("demo", job.id)
        assert "died" in (failed.error or "") and failed.attempts == 2
    finally:
        jobs.close()
