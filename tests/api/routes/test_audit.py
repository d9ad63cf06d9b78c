"""GET /v1/audit, on the memory and the Redis store: every write made through the API,
refused ones too, with who (key id and role), what (method, route, the ids it acted
on), when and how it ended; newest first; for the tenant's admins only."""

from __future__ import annotations

from typing import Any

from tests.api.planning_env import Env, env, publish, setup_plan

__all__ = ["env"]


def _whoami(env: Env, headers: dict[str, str]) -> str:
    return str(env.client.get("/v1/whoami", headers=headers).json()["key_id"])


def _log(env: Env, **params: Any) -> list[dict[str, Any]]:
    response = env.client.get("/v1/audit", params=params, headers=env.admin)
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()
    return entries


def test_every_write_is_in_the_audit_log_newest_first(env: Env) -> None:
    c, op = env.client, env.operator
    plan_id = setup_plan(env)  # put snapshot, put ruleset, post plan
    publish(env, plan_id, "pub-1")
    cell = next(p for p in c.get("/v1/published", headers=op).json() if p["quantity"] > 0)
    order = {"shop": cell["shop"], "sku": cell["sku"], "quantity": 1}
    keyed = {"Idempotency-Key": "ord-1", **op}
    assert c.post("/v1/orders", json=order, headers=keyed).status_code == 200
    refused = c.put("/v1/mode", json={"mode": "peak"}, headers=env.viewer)
    assert refused.status_code == 403
    assert c.put("/v1/mode", json={"mode": "busy"}, headers=op).status_code == 422
    c.get("/v1/snapshot/version", headers=op)  # a read: not audited

    entries = _log(env)
    assert [(e["method"], e["route"], e["status"]) for e in entries] == [
        ("PUT", "/v1/mode", 422),
        ("PUT", "/v1/mode", 403),
        ("POST", "/v1/orders", 200),
        ("POST", "/v1/plans/{plan_id}/publish", 200),
        ("POST", "/v1/plans", 200),
        ("PUT", "/v1/ruleset", 200),
        ("PUT", "/v1/snapshot", 200),
    ]
    operator_id, viewer_id = _whoami(env, op), _whoami(env, env.viewer)
    assert {e["key_id"] for e in entries} == {operator_id, viewer_id}
    assert entries[1]["key_id"] == viewer_id and entries[1]["role"] == "brand_viewer"
    assert entries[2]["role"] == "operator" and entries[2]["tenant"] == env.tenant
    assert entries[2]["target"] == {
        "idempotency_key": "ord-1",
        "shop": cell["shop"],
        "sku": cell["sku"],
    }
    assert entries[3]["target"] == {"plan_id": plan_id, "idempotency_key": "pub-1"}
    assert entries[4]["target"] == {"plan_id": plan_id}
    assert all(e["at"].endswith("+00:00") and e["request_id"] for e in entries)
    assert [e["at"] for e in entries] == sorted((e["at"] for e in entries), reverse=True)
    assert _log(env, limit=2) == entries[:2]


def test_only_the_tenants_admins_read_it(env: Env) -> None:
    setup_plan(env)
    c = env.client
    for headers in (env.operator, env.viewer):
        refused = c.get("/v1/audit", headers=headers)
        assert refused.status_code == 403 and refused.json()["detail"]["action"] == "read_audit"
    assert c.get("/v1/audit").status_code == 401
    assert c.get("/v1/audit", params={"limit": 0}, headers=env.admin).status_code == 422
    # Another tenant's admin reads its own (empty) log, never this one.
    keys = c.app.state.keys  # type: ignore[attr-defined]
    stranger = env.headers(keys.create(env.tenant + "-other", "admin")[0])
    assert c.get("/v1/audit", headers=stranger).json() == []
    assert len(_log(env)) == 3
