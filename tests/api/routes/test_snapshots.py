"""PUT /v1/snapshot, GET /v1/snapshot/version, PATCH /v1/snapshot/stock, on the memory
and the Redis store: versions, stale patches and every bad body a 422 (or 413)."""

from __future__ import annotations

from tests.api.planning_env import Env, env, setup_plan

__all__ = ["env"]


def test_stock_versions_and_patches(env: Env) -> None:
    c, op = env.client, env.operator
    setup_plan(env)
    assert c.get("/v1/snapshot/version", headers=op).json() == {"stock_version": 1}
    rows = [{"sku": "S", "warehouse": "W1", "on_hand": 20}]
    patched = c.patch("/v1/snapshot/stock", json={"version": 1, "stock": rows}, headers=op)
    assert patched.json() == {"stock_version": 2}
    stale_patch = c.patch("/v1/snapshot/stock", json={"version": 1, "stock": rows}, headers=op)
    assert stale_patch.status_code == 409
    assert stale_patch.json()["detail"]["current_version"] == 2


def test_bad_snapshots_and_patches(env: Env) -> None:
    c, op = env.client, env.operator
    setup_plan(env)
    wrong_tenant = {**env.snapshot(), "tenant": "someone-else"}
    response = c.put("/v1/snapshot", json=wrong_tenant, headers=op)
    assert response.status_code == 422 and response.json()["detail"][0]["path"] == "body.tenant"
    invalid = c.put("/v1/snapshot", json={"tenant": env.tenant}, headers=op)
    assert invalid.status_code == 422
    bad_row = c.patch(
        "/v1/snapshot/stock", json={"version": 1, "stock": [{"sku": "S"}]}, headers=op
    )
    assert bad_row.status_code == 422
    assert c.put("/v1/snapshot", content=b"[1,", headers=op).status_code == 422

    big = {**env.snapshot(), "padding": "x" * 300_000}
    assert c.put("/v1/snapshot", json=big, headers=op).status_code == 413
    chunks = (b"x" * 100_000 for _ in range(3))
    assert c.put("/v1/snapshot", content=chunks, headers=op).status_code == 413


def test_a_patch_row_without_its_sku_is_named_in_the_request(env: Env) -> None:
    c, op = env.client, env.operator
    setup_plan(env)
    rows = [{"sku": "S", "warehouse": "W1", "on_hand": 3}, {"warehouse": "W1", "on_hand": 3}]
    response = c.patch("/v1/snapshot/stock", json={"version": 1, "stock": rows}, headers=op)
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"path": "body.stock[1].sku", "message": "required, a non-empty string"}
    ]


def test_a_stale_and_invalid_patch_is_409_first(env: Env) -> None:
    """The client must read the stock again anyway: the version is checked first."""
    c, op = env.client, env.operator
    setup_plan(env)
    bad_rows = [{"warehouse": "W1", "on_hand": -5}]
    stale = c.patch("/v1/snapshot/stock", json={"version": 0, "stock": bad_rows}, headers=op)
    assert stale.status_code == 409
    assert stale.json()["detail"]["current_version"] == 1
    current = c.patch("/v1/snapshot/stock", json={"version": 1, "stock": bad_rows}, headers=op)
    assert current.status_code == 422
    assert c.get("/v1/snapshot/version", headers=op).json() == {"stock_version": 1}
