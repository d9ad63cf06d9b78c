"""POST /v1/plans/{id}/publish and GET /v1/published, on the memory and the Redis
store: idempotent, refused on a stale stock version, guarded in peak mode."""

from __future__ import annotations

from engine.store.switch import ModeSwitch
from tests.api.planning_env import Env, env, setup_plan

__all__ = ["env"]


def test_publishing_is_idempotent_and_version_guarded(env: Env) -> None:
    c, op = env.client, env.operator
    plan_id = setup_plan(env)
    key = {"Idempotency-Key": "k1", **op}
    first = c.post(f"/v1/plans/{plan_id}/publish", json={"note": "a"}, headers=key)
    assert first.status_code == 200, first.text
    assert first.json()["stock_version"] == 1
    again = c.post(f"/v1/plans/{plan_id}/publish", json={"note": "a"}, headers=key)
    assert again.status_code == 200 and again.json() == first.json()
    other = c.post(f"/v1/plans/{plan_id}/publish", json={"note": "b"}, headers=key)
    assert other.status_code == 409
    assert other.json()["detail"]["header"] == "Idempotency-Key"
    no_key = c.post(f"/v1/plans/{plan_id}/publish", json={}, headers=op)
    assert no_key.status_code == 422

    published = c.get("/v1/published", headers=op).json()
    assert sum(p["quantity"] for p in published) == first.json()["units"]

    # a stock patch makes the plan stale
    rows = [{"sku": "S", "warehouse": "W1", "on_hand": 20}]
    patched = c.patch("/v1/snapshot/stock", json={"version": 1, "stock": rows}, headers=op)
    assert patched.json() == {"stock_version": 2}
    stale = c.post(f"/v1/plans/{plan_id}/publish", json={}, headers={"Idempotency-Key": "k2", **op})
    assert stale.status_code == 409
    assert stale.json()["detail"]["current_version"] == 2

    peak = c.post("/v1/plans", json={"mode": "peak"}, headers=op)
    assert peak.status_code == 200 and peak.json()["stock_version"] == 2
    fresh = c.post(
        f"/v1/plans/{peak.json()['plan_id']}/publish", headers={"Idempotency-Key": "k3", **op}
    )
    assert fresh.status_code == 200 and fresh.json()["stock_version"] == 2


def test_peak_mode_checks_before_and_after_publishing(env: Env) -> None:
    c, op = env.client, env.operator
    plan_id = setup_plan(env)
    env.store.put_mode(ModeSwitch(mode="peak"))
    first = c.post(f"/v1/plans/{plan_id}/publish", json={}, headers={"Idempotency-Key": "p1", **op})
    assert first.status_code == 200, first.text
    checks = first.json()["peak_checks"]
    assert checks["before"] == [] and isinstance(checks["after"], list)

    # A plan that promises more than the stock holds (stored as if made on this
    # version) is refused in peak mode, naming the SKU.
    document = env.store.get_plan(plan_id)
    cell = next(a for a in document["allocations"] if a["sku"] == "T")
    cell["quantity"] = 999
    document["plan_id"] = "plan-forged"
    env.store.put_plan("plan-forged", document)
    refused = c.post(
        "/v1/plans/plan-forged/publish", json={}, headers={"Idempotency-Key": "p2", **op}
    )
    assert refused.status_code == 409, refused.text
    detail = refused.json()["detail"]
    assert detail["plan_id"] == "plan-forged"
    assert any(w["sku"] == "T" and w["severity"] == "high" for w in detail["warnings"])
