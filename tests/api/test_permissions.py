"""What each route lets each key do (the permissions the routes declare, api/deps.py),
on the memory and the Redis store: brand viewers and admins write nothing, a brand
viewer reads its brand only, a tenant's data stays its own, and no route but health
and metrics answers without a key."""

from __future__ import annotations

import re
import warnings

from api.app import create_app
from api.urls import API_PREFIX
from engine.access.repository import InMemoryKeyRepository
from engine.services.stores import StoreRegistry
from tests.api.planning_env import Env, env, setup_plan

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's httpx2 notice, as in tests/api
    from fastapi.testclient import TestClient

__all__ = ["env"]


def test_access(env: Env) -> None:
    c = env.client
    plan_id = setup_plan(env)
    publish = {"Idempotency-Key": "k1"}
    assert c.post(f"/v1/plans/{plan_id}/publish", headers={**publish, **env.operator}).is_success

    viewer = env.viewer
    writes = [
        ("put", "/v1/snapshot", env.snapshot()),
        ("patch", "/v1/snapshot/stock", {"version": 1, "stock": [{"sku": "S", "warehouse": "W1"}]}),
        ("put", "/v1/ruleset", {"rules": []}),
        ("post", "/v1/ruleset/validate", {"rules": []}),
        ("post", "/v1/plans", {}),
        ("post", f"/v1/plans/{plan_id}/publish", {}),
        ("post", "/v1/orders", {"shop": "A", "sku": "S", "quantity": 1}),
    ]
    for method, path, body in writes:
        for headers in (viewer, env.admin):
            response = c.request(method, path, json=body, headers={**publish, **headers})
            assert response.status_code == 403, (method, path, response.text)

    # the brand viewer reads its brand; another brand's viewer sees nothing of it
    assert c.get("/v1/snapshot/version", headers=viewer).json() == {"stock_version": 1}
    full = c.get(f"/v1/plans/{plan_id}", headers=env.operator).json()["plan"]
    mine = c.get(f"/v1/plans/{plan_id}", headers=viewer).json()
    assert mine["brand"] == "b" and mine["plan"]["allocations"] == full["allocations"]
    assert "kpis" not in mine["plan"]
    assert (
        c.get("/v1/published", headers=viewer).json()
        == c.get("/v1/published", headers=env.operator).json()
    )
    assert c.get("/v1/ruleset", headers=viewer).status_code == 403
    others = c.get(f"/v1/plans/{plan_id}", headers=env.other_viewer).json()["plan"]
    assert others["allocations"] == [] and others["skus"] == []
    assert c.get("/v1/published", headers=env.other_viewer).json() == []
    hidden = c.get(f"/v1/plans/{plan_id}/explain?sku=S", headers=env.other_viewer)
    assert hidden.status_code == 404
    for path in ("/v1/snapshot/version", "/v1/published", f"/v1/plans/{plan_id}"):
        assert c.get(path, headers=env.admin).status_code == 403

    # another tenant's operator reaches only its own, empty, state
    stranger = env.stranger
    assert c.get(f"/v1/plans/{plan_id}", headers=stranger).status_code == 404
    assert c.get("/v1/published", headers=stranger).json() == []
    assert c.get("/v1/snapshot/version", headers=stranger).json() == {"stock_version": 0}
    order = {"shop": "A", "sku": "S", "quantity": 1}
    assert c.post("/v1/orders", json=order, headers=stranger).status_code == 404
    assert c.get("/v1/ruleset", headers=stranger).status_code == 404
    assert c.get("/v1/published").status_code == 401


def test_every_route_under_the_api_prefix_needs_a_key() -> None:
    app = create_app(keys=InMemoryKeyRepository(), stores=StoreRegistry())
    paths = app.openapi()["paths"]
    keyless = {path for path in paths if not path.startswith(API_PREFIX + "/")}
    assert keyless == {"/healthz", "/readyz", "/metrics"}
    client = TestClient(app)
    for template, operations in paths.items():
        if template in keyless:
            continue
        path = re.sub(r"\{[^}]+\}", "x", template)
        for method, operation in operations.items():
            assert operation["security"] == [{"HTTPBearer": []}], operation["operationId"]
            response = client.request(method, path)
            assert response.status_code == 401, (method, template, response.text)
