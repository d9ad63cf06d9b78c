"""PUT and GET /v1/ruleset, POST /v1/ruleset/validate, on the memory and the Redis
store: versions, and a bad rule a 422 naming it and its field."""

from __future__ import annotations

from tests.api.planning_env import Env, env, setup_plan

__all__ = ["env"]


def test_the_latest_ruleset_and_its_version(env: Env) -> None:
    setup_plan(env)
    assert env.client.get("/v1/ruleset", headers=env.operator).json()["version"] == 1


def test_bad_rulesets_name_the_rule_and_field(env: Env) -> None:
    c, op = env.client, env.operator
    setup_plan(env)
    bad = {"rules": [{"id": "r-lock", "type": "shop_lock", "shop": "NOSHOP"}]}
    for path in ("/v1/ruleset", "/v1/ruleset/validate"):
        call = c.put if path == "/v1/ruleset" else c.post
        response = call(path, json=bad, headers=op)
        assert response.status_code == 422
        (issue,) = response.json()["detail"]
        assert "r-lock" in issue["path"] and issue["path"].endswith(".shop")
    typo = {"rules": [{"id": "r-typo", "type": "safety_stock", "quantity": -1}]}
    response = c.put("/v1/ruleset", json=typo, headers=op)
    assert response.status_code == 422 and "r-typo" in response.text
    ok = c.post("/v1/ruleset/validate", json={"rules": []}, headers=op)
    assert ok.json() == {"valid": True, "rules": 0}
    assert c.get("/v1/ruleset", headers=op).json()["version"] == 1
