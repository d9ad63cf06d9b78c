"""A test API on the memory store and on the Redis store, with keys of every kind for
one tenant (operator, brand viewers of two brands, admin) and an operator of another."""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from api.app import create_app
from engine.access.repository import InMemoryKeyRepository
from engine.core.settings import Settings
from engine.services.stores import StoreRegistry
from engine.store.memory import MemoryStore
from engine.store.redis_store import RedisStore
from tests.helpers import snapshot_data

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's httpx2 notice, as in tests/api
    from fastapi.testclient import TestClient

REDIS_URL = os.environ.get("OMNISTOCK_REDIS_URL") or "redis://127.0.0.1:6379/15"
RULES = {"rules": [{"id": "r-safe", "type": "safety_stock", "quantity": 1}]}


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


def setup_plan(env: Env) -> str:
    """Store the snapshot and a ruleset, plan them now; the plan's id."""
    c, op = env.client, env.operator
    assert c.put("/v1/snapshot", json=env.snapshot(), headers=op).json() == {"stock_version": 1}
    assert c.put("/v1/ruleset", json=RULES, headers=op).json() == {"version": 1}
    response = c.post("/v1/plans", json={}, headers=op)
    assert response.status_code == 200, response.text
    return str(response.json()["plan_id"])


def publish(env: Env, plan_id: str, key: str) -> dict[str, Any]:
    """Publish the plan as the operator under an idempotency key; the receipt."""
    headers = {"Idempotency-Key": key, **env.operator}
    response = env.client.post(f"/v1/plans/{plan_id}/publish", json={}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
