"""The planning routes end to end, on the memory store and on the Redis store: snapshot,
ruleset, plan, explain, publish (idempotent, version-guarded), published, orders; errors
and access (brand viewer read-only, no reach into another tenant)."""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from api.app import create_app
from engine.core.settings import Settings
from engine.access.repository import InMemoryKeyRepository
from engine.services.planning import StoreRegistry
from engine.store.base import Mode
from engine.store.memory import MemoryStore
from engine.store.redis_store import RedisStore
from tests.helpers import snapshot_data

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's httpx2 notice, as in tests/api
    from fastapi.testclient import TestClient

REDIS_URL = os.environ.get("OMNISTOCK_REDIS_URL") or "redis://127.0.0.1:6379/15"


def _redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


class Env:
    def __init__(
        self, client: TestClient, keys: InMemoryKeyRepository, tenant: str, stores: StoreRegistry
    ) -> None:
        self.client = client
        self.tenant = tenant
        self.store = stores.get(tenant)
        self.operator = self.headers(keys.create(tenant, "operator")[0])
        self.viewer = self.headers(keys.create(tenant, "brand_viewer", "b")[0])
        self.other_viewer = self.headers(keys.create(tenant, "brand_viewer", "zz")[0])
        self.admin = self.headers(keys.create(tenant, "admin")[0])
        self.stranger = self.headers(keys.create(tenant + "-other", "operator")[0])

    @staticmethod
    def headers(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    def snapshot(self) -> dict[str, Any]:
        data = snapshot_data(pools={"S": 10, "T": 4})
        return {**data, "tenant": self.tenant}


def _env(stores: StoreRegistry, tenant: str) -> Iterator[Env]:
    keys = InMemoryKeyRepository()
    app = create_app(Settings(max_body_bytes=200_000), keys=keys, stores=stores)
    with TestClient(app) as client:
        yield Env(client, keys, tenant, stores)
    stores.close()


@pytest.fixture(params=["memory", "redis"])
def env(request: pytest.FixtureRequest) -> Iterator[Env]:
    tenant = f"t{uuid.uuid4().hex[:12]}"
    if request.param == "memory":
        yield from _env(StoreRegistry(MemoryStore), tenant)
        return
    if not _redis_up():
        pytest.fail(f"Redis not reachable at {REDIS_URL} (set OMNISTOCK_REDIS_URL)")
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        yield from _env(StoreRegistry(lambda t: RedisStore(t, client=client)), tenant)
    finally:
        for t in (tenant, tenant + "-other"):
            for key in client.scan_iter(f"omnistock:{t}:*"):
                client.delete(key)
        client.close()


def _setup(env: Env) -> str:
    c, op = env.client, env.operator
    assert c.put("/v1/snapshot", json=env.snapshot(), headers=op).json() == {"stock_version": 1}
    ruleset = {"rules": [{"id": "r-safe", "type": "safety_stock", "quantity": 1}]}
    assert c.put("/v1/ruleset", json=ruleset, headers=op).json() == {"version": 1}
    response = c.post("/v1/plans", json={}, headers=op)
    assert response.status_code == 200, response.text
    return str(response.json()["plan_id"])


def test_whole_flow(env: Env) -> None:
    c, op = env.client, env.operator
    plan_id = _setup(env)
    assert c.get("/v1/snapshot/version", headers=op).json() == {"stock_version": 1}
    assert c.get("/v1/ruleset", headers=op).json()["version"] == 1

    plan = c.get(f"/v1/plans/{plan_id}", headers=op).json()
    assert plan["stock_version"] == 1 and plan["ruleset_version"] == 1
    allocations = plan["plan"]["allocations"]
    assert {a["sku"] for a in allocations} == {"S", "T"}
    story = c.get(f"/v1/plans/{plan_id}/explain", params={"sku": "S"}, headers=op).json()
    assert story["sku"] == "S" and story["cells"]
    missing = c.get(f"/v1/plans/{plan_id}/explain", params={"sku": "NOPE"}, headers=op)
    assert missing.status_code == 404 and missing.json()["detail"]["key"] == "NOPE"

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
    cell = next(p for p in published if p["sku"] == "S" and p["quantity"] > 0)
    assert sum(p["quantity"] for p in published) == first.json()["units"]

    # orders until short
    order = {"shop": cell["shop"], "sku": "S", "quantity": 1}
    for left in range(cell["quantity"] - 1, -1, -1):
        response = c.post("/v1/orders", json=order, headers=op)
        assert response.status_code == 200, response.text
        assert response.json()["remaining"] == left
    short = c.post("/v1/orders", json=order, headers=op)
    assert short.status_code == 409
    assert short.json()["detail"] | {"message": ""} == {
        "shop": cell["shop"],
        "sku": "S",
        "requested": 1,
        "available": 0,
        "message": "",
    }
    unknown = c.post("/v1/orders", json={**order, "sku": "NOPE"}, headers=op)
    assert unknown.status_code == 404
    bad = c.post("/v1/orders", json={**order, "quantity": 0}, headers=op)
    assert bad.status_code == 422 and bad.json()["detail"][0]["path"] == "body.quantity"

    # a stock patch makes the plan stale; a stale patch is refused too
    rows = [{"sku": "S", "warehouse": "W1", "on_hand": 20}]
    patched = c.patch("/v1/snapshot/stock", json={"version": 1, "stock": rows}, headers=op)
    assert patched.json() == {"stock_version": 2}
    stale_patch = c.patch("/v1/snapshot/stock", json={"version": 1, "stock": rows}, headers=op)
    assert stale_patch.status_code == 409
    assert stale_patch.json()["detail"]["current_version"] == 2
    stale = c.post(f"/v1/plans/{plan_id}/publish", json={}, headers={"Idempotency-Key": "k2", **op})
    assert stale.status_code == 409
    assert stale.json()["detail"]["current_version"] == 2

    peak = c.post("/v1/plans", json={"mode": "peak"}, headers=op)
    assert peak.status_code == 200 and peak.json()["stock_version"] == 2
    assert peak.json()["plan"]["mode"] == "peak"
    fresh = c.post(
        f"/v1/plans/{peak.json()['plan_id']}/publish", headers={"Idempotency-Key": "k3", **op}
    )
    assert fresh.status_code == 200 and fresh.json()["stock_version"] == 2


def test_errors(env: Env) -> None:
    c, op = env.client, env.operator
    assert c.post("/v1/plans", headers=op).status_code == 404  # no snapshot yet
    assert c.get("/v1/plans/nope", headers=op).status_code == 404
    plan_id = _setup(env)
    assert plan_id

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


def test_access(env: Env) -> None:
    c = env.client
    plan_id = _setup(env)
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


def test_openapi_has_examples_and_operation_ids() -> None:
    app = create_app(keys=InMemoryKeyRepository(), stores=StoreRegistry())
    spec = app.openapi()
    operations = [
        op
        for path, item in spec["paths"].items()
        if path.startswith("/v1/")
        for op in item.values()
    ]
    ids = {op["operationId"] for op in operations}
    assert {"put-snapshot", "create-plan", "publish-plan", "create-order"} <= ids
    for op in operations:
        if "requestBody" not in op:
            continue
        content = op["requestBody"]["content"]["application/json"]
        schema = content["schema"]
        if "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        elif "anyOf" in schema:
            ref = next(s["$ref"] for s in schema["anyOf"] if "$ref" in s)
            schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert "examples" in schema or "example" in content, op["operationId"]


def test_peak_mode_checks_before_and_after_publishing(env: Env) -> None:
    c, op = env.client, env.operator
    plan_id = _setup(env)
    env.store.put_mode(Mode(mode="peak"))
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


def test_mode_switch_reaches_plans_and_publishing(env: Env) -> None:
    c, op = env.client, env.operator
    _setup(env)
    assert c.get("/v1/mode", headers=op).json()["effective"] == "normal"
    switched = c.put("/v1/mode", json={"mode": "peak"}, headers=op)
    assert switched.status_code == 200 and switched.json()["effective"] == "peak"
    assert env.store.get_mode().mode == "peak"  # what every other worker reads
    plan = c.post("/v1/plans", json={}, headers=op).json()
    assert plan["plan"]["mode"] == "peak"

    past = {
        "mode": "peak",
        "start": "2020-11-10T00:00:00+08:00",
        "end": "2020-11-12T00:00:00+08:00",
    }
    scheduled = c.put("/v1/mode", json=past, headers=op).json()
    assert scheduled["mode"] == "peak" and scheduled["effective"] == "normal"
    assert c.post("/v1/plans", json={}, headers=op).json()["plan"]["mode"] == "normal"

    backwards = {
        "mode": "peak",
        "start": "2026-11-12T00:00:00+08:00",
        "end": "2026-11-11T00:00:00+08:00",
    }
    bad = c.put("/v1/mode", json=backwards, headers=op)
    assert bad.status_code == 422 and "end" in bad.text
    naive = c.put("/v1/mode", json={"mode": "peak", "start": "2026-11-11T00:00:00"}, headers=op)
    assert naive.status_code == 422 and "start" in naive.text
    assert c.put("/v1/mode", json={"mode": "busy"}, headers=op).status_code == 422
    assert c.put("/v1/mode", json={"mode": "peak"}, headers=env.viewer).status_code == 403


def test_orders_sell_the_shared_part_from_every_shop_that_lists_it(env: Env) -> None:
    c, op = env.client, env.operator
    assert c.put("/v1/snapshot", json=env.snapshot(), headers=op).status_code == 200
    rules = [{"id": "r-shared", "type": "shared_pool", "shops": ["A", "B"], "scope": {}}]
    assert c.put("/v1/ruleset", json={"rules": rules}, headers=op).status_code == 200
    plan = c.post("/v1/plans", json={}, headers=op).json()
    key = {"Idempotency-Key": "k-shared", **op}
    receipt = c.post(f"/v1/plans/{plan['plan_id']}/publish", json={}, headers=key).json()
    assert receipt["shared_units"] == 14, receipt  # S 10 and T 4, each counted once
    rows = {(r["shop"], r["sku"]): r for r in c.get("/v1/published", headers=op).json()}
    assert rows[("A", "S")]["shared"] == rows[("B", "S")]["shared"] == 10
    assert ("C", "S") not in rows or rows[("C", "S")]["shared"] == 0

    sold = c.post("/v1/orders", json={"shop": "A", "sku": "S", "quantity": 7}, headers=op)
    assert sold.status_code == 200, sold.text
    assert sold.json() | {"quantity": 0} == {
        "shop": "A",
        "sku": "S",
        "quantity": 0,
        "remaining": 3,
        "from_shared": 7,
    }
    # B lists the same units: what A sold is gone for B too.
    short = c.post("/v1/orders", json={"shop": "B", "sku": "S", "quantity": 4}, headers=op)
    assert short.status_code == 409 and short.json()["detail"]["available"] == 3
    rows = {(r["shop"], r["sku"]): r for r in c.get("/v1/published", headers=op).json()}
    assert rows[("B", "S")]["shared"] == 3
