"""POST /v1/plans, GET /v1/plans/{id} and its explain, on the memory and the Redis
store (plans as jobs: tests/api/routes/test_jobs.py)."""

from __future__ import annotations

from tests.api.planning_env import Env, env, setup_plan

__all__ = ["env"]


def test_a_stored_plan_and_the_story_of_a_sku(env: Env) -> None:
    c, op = env.client, env.operator
    plan_id = setup_plan(env)
    plan = c.get(f"/v1/plans/{plan_id}", headers=op).json()
    assert plan["stock_version"] == 1 and plan["ruleset_version"] == 1
    allocations = plan["plan"]["allocations"]
    assert {a["sku"] for a in allocations} == {"S", "T"}
    story = c.get(f"/v1/plans/{plan_id}/explain", params={"sku": "S"}, headers=op).json()
    assert story["sku"] == "S" and story["cells"]
    missing = c.get(f"/v1/plans/{plan_id}/explain", params={"sku": "NOPE"}, headers=op)
    assert missing.status_code == 404 and missing.json()["detail"]["key"] == "NOPE"


def test_a_plan_in_the_mode_asked_for_on_the_current_stock(env: Env) -> None:
    c, op = env.client, env.operator
    setup_plan(env)
    rows = [{"sku": "S", "warehouse": "W1", "on_hand": 20}]
    assert c.patch("/v1/snapshot/stock", json={"version": 1, "stock": rows}, headers=op).is_success
    peak = c.post("/v1/plans", json={"mode": "peak"}, headers=op)
    assert peak.status_code == 200 and peak.json()["stock_version"] == 2
    assert peak.json()["plan"]["mode"] == "peak"


def test_no_plan_without_data(env: Env) -> None:
    c, op = env.client, env.operator
    assert c.post("/v1/plans", headers=op).status_code == 404  # no snapshot yet
    assert c.get("/v1/plans/nope", headers=op).status_code == 404
