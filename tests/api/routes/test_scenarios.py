"""What-if scenarios over HTTP, on both job queues: checked at once (422 naming the
variant and override), played as a job on the stored data, results and charts after."""

from __future__ import annotations

from typing import Any

from engine.demo import build_demo
from engine.jobs.rq_queue import RqJobs
from tests.api.job_env import Env, env

__all__ = ["env"]

SCENARIO: dict[str, Any] = {
    "simulation": {"horizon_days": 5, "replan_every_days": 3, "seed": 2},
    "variants": [
        {"name": "peak", "mode": "peak"},
        {
            "name": "uplift",
            "overrides": [{"op": "uplift", "factor": 2, "days": [0, 1]}],
        },
    ],
}


def _put_demo(env: Env) -> None:
    snapshot, rules = build_demo(skus=150)
    env.put_data(snapshot, rules)


def test_a_scenario_runs_as_a_job_and_keeps_its_comparison_and_charts(env: Env) -> None:
    if isinstance(env.jobs, RqJobs):
        env.start_worker()
    _put_demo(env)
    c, op = env.client, env.operator
    started = c.post("/v1/scenarios", json=SCENARIO, headers=op)
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    assert started.headers["location"] == f"/v1/scenarios/{run_id}"
    assert started.json()["kind"] == "scenario"

    job = env.wait(run_id, lambda j: j["status"] in {"finished", "failed"}, limit_s=120)
    assert job["status"] == "finished", job
    assert job["result"] == {"scenario_id": run_id, "url": f"/v1/scenarios/{run_id}"}
    run = c.get(f"/v1/scenarios/{run_id}", headers=op).json()
    names = [v["name"] for v in run["comparison"]["variants"]]
    assert names == ["base", "peak", "uplift"]
    assert all(v["kpis"]["units_oversold"] == 0 for v in run["comparison"]["variants"])
    assert run["job"]["status"] == "finished"
    for url in run["charts"].values():
        chart = c.get(url, headers=op)
        assert chart.status_code == 200 and chart.headers["content-type"] == "image/png"
        assert chart.content.startswith(b"\x89PNG")
    assert c.get(f"/v1/scenarios/{run_id}/charts/nope.png", headers=op).status_code == 404


def test_a_bad_scenario_is_refused_at_once_naming_the_variant_and_override(env: Env) -> None:
    _put_demo(env)
    c, op = env.client, env.operator
    bad = {"variants": [{"name": "typo", "overrides": [{"op": "remove_rule", "id": "r-x"}]}]}
    response = c.post("/v1/scenarios", json=bad, headers=op)
    assert response.status_code == 422, response.text
    paths = [issue["path"] for issue in response.json()["detail"]]
    assert paths == ["body.variants[0] (typo).overrides[0] (remove_rule).id"], paths
    files = {**SCENARIO, "base": {"snapshot": "/etc/passwd", "ruleset": "rules.yaml"}}
    response = c.post("/v1/scenarios", json=files, headers=op)
    assert response.status_code == 422 and "base.snapshot" in response.text
    unknown = c.post("/v1/scenarios", json={"variants": [{"name": "x", "op": 1}]}, headers=op)
    assert unknown.status_code == 422
    assert all(i["path"].startswith("body.variants[0]") for i in unknown.json()["detail"])
    unnamed = c.post("/v1/scenarios", json={"variants": [{"name": ""}]}, headers=op)
    assert unnamed.status_code == 422
    assert [i["path"] for i in unnamed.json()["detail"]] == ["body.variants[0] ().name"]


def test_scenario_runs_are_the_tenants_and_operators_own(env: Env) -> None:
    _put_demo(env)
    c = env.client
    run_id = c.post("/v1/scenarios", json=SCENARIO, headers=env.operator).json()["id"]
    assert c.get(f"/v1/scenarios/{run_id}", headers=env.operator).status_code == 200
    assert c.get(f"/v1/scenarios/{run_id}", headers=env.stranger).status_code == 404
    assert c.get(f"/v1/scenarios/{run_id}", headers=env.viewer).status_code == 403
    assert c.post("/v1/scenarios", json=SCENARIO, headers=env.viewer).status_code == 403
    plan_job = c.post("/v1/plans", json={"run": "job"}, headers=env.operator).json()["id"]
    assert c.get(f"/v1/scenarios/{plan_job}", headers=env.operator).status_code == 404
    assert c.get("/v1/scenarios/nope", headers=env.operator).status_code == 404


def test_a_running_scenario_cancelled_stops_and_frees_its_worker(env: Env) -> None:
    """One worker: had the cancelled run gone on to its end (a year, three variants,
    re-planned daily, 100 replications), the plan job after it would wait far beyond
    its limit."""
    if isinstance(env.jobs, RqJobs):
        env.start_worker()
    _put_demo(env)
    c, op = env.client, env.operator
    year = {"horizon_days": 366, "replan_every_days": 1, "replications": 100}
    long_run = {**SCENARIO, "simulation": year}
    run_id = c.post("/v1/scenarios", json=long_run, headers=op).json()["id"]
    env.wait(run_id, lambda j: j["status"] == "running" and j["progress"]["done"] > 0)
    cancelled = c.delete(f"/v1/jobs/{run_id}", headers=op)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"

    plan_job = c.post("/v1/plans", json={"run": "job"}, headers=op).json()["id"]
    done = env.wait(plan_job, lambda j: j["status"] in {"finished", "failed"}, limit_s=30)
    assert done["status"] == "finished", done
    assert env.job(run_id)["status"] == "cancelled"
