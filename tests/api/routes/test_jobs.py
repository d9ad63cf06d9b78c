"""Plans as jobs, on both queues: the local process pool beside a memory store, and RQ
on Redis with real `omnistock worker` processes. Covers 202 + polling to a stored plan,
the size threshold, progress, failures, cancelling, access, and a worker process killed
mid-job (the job is retried, never left running with nobody on it)."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from api.app import JOB_KINDS
from engine.demo import build_demo
from engine.jobs.local import LocalJobs
from engine.jobs.rq_queue import RqJobs
from engine.services.stores import StoreRegistry
from engine.store.memory import MemoryStore
from tests.api.job_env import Env, env
from tests.helpers import snapshot_data

__all__ = ["env"]  # the fixture, shared with the scenario routes' tests


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
    assert not job["error"].startswith("JobFailed")
    assert job["attempts"] == 1, "a job's own failure is not retried: it would fail again"


def _two_brands() -> dict[str, Any]:
    """The viewer's brand b (shops A, B, C; SKU S) and a brand b2 of the same tenant
    (shop D, SKU SECRET-2) that a viewer of b must never read about."""
    snapshot = snapshot_data(pools={"S": 10})
    snapshot["brands"].append({"id": "b2", "name": "Other"})
    snapshot["shops"].append({"id": "D", "brand": "b2", "platform": "jd", "priority": 1})
    snapshot["skus"].append({"id": "SECRET-2", "brand": "b2", "price": "1.00"})
    snapshot["stock"].append({"sku": "SECRET-2", "warehouse": "W1", "on_hand": 100})
    return snapshot


def test_a_failed_job_is_cut_to_a_brand_viewers_brand(env: Env) -> None:
    if isinstance(env.jobs, RqJobs):
        env.start_worker()
    secret = {"skus": ["SECRET-2"]}
    rules = {
        "rules": [
            # b's own: more pinned than its pool
            {"id": "r-own", "type": "fixed", "scope": {"skus": ["S"]}, "quantities": {"A": 50}},
            # b2's: a fixed quantity above a cap, on b2's SKU and shop alone
            {"id": "r-secret", "type": "fixed", "scope": secret, "quantities": {"D": 40}},
            {"id": "r-secret-cap", "type": "max_cap", "scope": secret, "quantities": {"D": 5}},
        ]
    }
    env.put_data(_two_brands(), rules)
    job_id = _start_plan(env)
    whole = env.wait(job_id, _ended)
    assert whole["status"] == "failed"
    assert "r-own" in whole["error"] and "r-secret" in whole["error"], whole["error"]
    assert "SECRET-2" in whole["error"]

    seen = env.client.get(f"/v1/jobs/{job_id}", headers=env.viewer)
    assert seen.status_code == 200
    cut = seen.json()
    assert "r-own" in cut["error"] and "SKU S" in cut["error"], cut["error"]
    for secret in ("r-secret", "SECRET-2", "shop D", "b2"):
        assert secret not in cut["error"], (secret, cut["error"])
    assert "1 other cause(s)" in cut["error"]
    assert {k: v for k, v in cut.items() if k != "error"} == {
        k: v for k, v in whole.items() if k != "error"
    }


def test_a_failure_of_other_brands_only_tells_a_viewer_nothing_of_them(env: Env) -> None:
    if isinstance(env.jobs, RqJobs):
        env.start_worker()
    secret = {"skus": ["SECRET-2"]}
    rules = {
        "rules": [
            {"id": "r-secret", "type": "fixed", "scope": secret, "quantities": {"D": 40}},
            {"id": "r-secret-cap", "type": "max_cap", "scope": secret, "quantities": {"D": 5}},
        ]
    }
    env.put_data(_two_brands(), rules)
    job_id = _start_plan(env)
    assert env.wait(job_id, _ended)["status"] == "failed"
    cut = env.client.get(f"/v1/jobs/{job_id}", headers=env.viewer).json()
    assert cut["status"] == "failed"
    assert "r-secret" not in cut["error"] and "SECRET-2" not in cut["error"], cut["error"]
    assert "0 cause(s) concern brand 'b'" in cut["error"]


def test_a_scenario_job_is_read_with_the_scenarios_permission(env: Env) -> None:
    snapshot, rules = build_demo(skus=100)
    env.put_data(snapshot, rules)  # no worker on RQ: the run stays queued
    scenario = {"simulation": {"horizon_days": 2}, "variants": [{"name": "p", "mode": "peak"}]}
    started = env.client.post("/v1/scenarios", json=scenario, headers=env.operator)
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    c = env.client
    assert c.get(f"/v1/scenarios/{run_id}", headers=env.viewer).status_code == 403
    refused = c.get(f"/v1/jobs/{run_id}", headers=env.viewer)
    assert refused.status_code == 403, refused.text
    assert refused.json()["detail"]["action"] == "read"
    assert c.get(f"/v1/jobs/{run_id}", headers=env.operator).status_code == 200


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
        # Back in line: no stage of the lost run (it is over), only that it waits again.
        assert requeued["progress"] == {"stage": "retrying", "done": 0, "total": 1, "fraction": 0.0}
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
    jobs = LocalJobs(stores, JOB_KINDS, workers=1)
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


def test_the_worker_command_says_what_it_needs(monkeypatch: Any) -> None:
    from typer.testing import CliRunner

    from engine.cli.app import app

    monkeypatch.delenv("OMNISTOCK_REDIS_URL", raising=False)
    unset = CliRunner().invoke(app, ["worker", "--burst"])
    assert unset.exit_code == 2 and "set OMNISTOCK_REDIS_URL" in unset.output
    monkeypatch.setenv("OMNISTOCK_REDIS_URL", "redis://127.0.0.1:1/0")
    dead = CliRunner().invoke(app, ["worker", "--burst"])
    assert dead.exit_code == 2 and "does not answer" in dead.output
    assert "Traceback" not in dead.output
