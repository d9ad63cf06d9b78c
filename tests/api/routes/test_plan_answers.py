"""The plan answers (POST /v1/plans, GET /v1/plans/{id}), written by orjson without
FastAPI's response model: the same JSON PlanOut gives, for the operator and for a brand
viewer's cut; and the plan a request makes equals the planner's plan of the stored
documents (the service's parsed-input cache in between)."""

from __future__ import annotations

from typing import Any

from api.schemas.plans import PlanOut
from engine.core.io import parse_snapshot
from engine.planning.planner import make_plan
from rules.load import parse_ruleset
from tests.api.planning_env import RULES, Env, env

__all__ = ["env"]


def _as_plan_out(answer: dict[str, Any]) -> dict[str, Any]:
    return PlanOut.model_validate(answer).model_dump(mode="json")


def test_plan_answers_are_what_the_response_model_gives(env: Env) -> None:
    c, op = env.client, env.operator
    c.put("/v1/snapshot", json=env.snapshot(), headers=op)
    c.put("/v1/ruleset", json=RULES, headers=op)
    made = c.post("/v1/plans", json={}, headers=op)
    assert made.headers["content-type"] == "application/json"
    assert made.json() == _as_plan_out(made.json())
    for headers in (op, env.viewer):
        read = c.get(f"/v1/plans/{made.json()['plan_id']}", headers=headers)
        assert read.status_code == 200
        assert read.json() == _as_plan_out(read.json())
    assert read.json()["brand"] == "b"


def test_each_request_plans_the_stored_documents_of_that_moment(env: Env) -> None:
    c, op = env.client, env.operator
    c.put("/v1/snapshot", json=env.snapshot(), headers=op)
    c.put("/v1/ruleset", json=RULES, headers=op)
    for step in range(3):
        answer = c.post("/v1/plans", json={}, headers=op).json()
        expected = make_plan(
            parse_snapshot(env.store.get_snapshot().body), parse_ruleset(RULES), time_limit_s=10
        ).model_dump(mode="json")
        got = {k: v for k, v in answer["plan"].items() if k != "timing"}
        assert got == {k: v for k, v in expected.items() if k != "timing"}, step
        assert answer["stock_version"] == step + 1
        row = {"sku": "S", "warehouse": "W1", "on_hand": 2 + 5 * step}
        patch = {"version": step + 1, "stock": [row]}
        assert c.patch("/v1/snapshot/stock", json=patch, headers=op).is_success
