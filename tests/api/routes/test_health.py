"""Liveness, readiness, metrics and the request log line."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine.access.repository import InMemoryKeyRepository
from engine.services.stores import StoreRegistry
from engine.store.memory import MemoryStore
from engine.store.redis_store import RedisStore
from tests.helpers import snapshot_data


def test_healthz_and_readyz_on_memory() -> None:
    client = TestClient(create_app(keys=InMemoryKeyRepository(), stores=StoreRegistry(MemoryStore)))
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["store"] is True
    assert ready.json()["queue"] is True and ready.json()["keys"] is True


def test_readyz_is_503_when_redis_does_not_answer() -> None:
    url = "redis://127.0.0.1:1/0"
    dead = StoreRegistry(lambda t: RedisStore(t, url=url), redis_url=url)
    client = TestClient(create_app(keys=InMemoryKeyRepository(), stores=dead))
    ready = client.get("/readyz")
    expected = {"status": "unavailable", "store": False, "queue": False, "keys": True}
    assert ready.status_code == 503 and ready.json() == expected
    assert ready.headers["retry-after"] == "5"


def test_metrics_request_id_and_log_line(caplog: pytest.LogCaptureFixture) -> None:
    keys = InMemoryKeyRepository()
    key = keys.create("acme", "operator")[0]
    auth = {"Authorization": f"Bearer {key}"}
    client = TestClient(create_app(keys=keys, stores=StoreRegistry(MemoryStore)))
    snap = {**snapshot_data(pools={"S": 10}), "tenant": "acme"}
    assert client.put("/v1/snapshot", json=snap, headers=auth).status_code == 200
    assert client.put("/v1/ruleset", json={"rules": []}, headers=auth).status_code == 200
    with caplog.at_level(logging.INFO, logger="omnistock.api"):
        planned = client.post("/v1/plans", json={}, headers={**auth, "X-Request-ID": "req-42"})
    assert planned.status_code == 200 and planned.headers["X-Request-ID"] == "req-42"
    line = json.loads(caplog.records[-1].getMessage())
    assert line["request_id"] == "req-42" and line["tenant"] == "acme"
    assert line["route"] == "/v1/plans" and line["status"] == 200
    assert client.get("/healthz").headers["X-Request-ID"]  # made when none is sent
    text = client.get("/metrics").text
    assert (
        'omnistock_request_seconds_count{method="POST",route="/v1/plans",status="200"} 1.0' in text
    )
    assert 'omnistock_solve_seconds_count{backend="closed"} 1.0' in text
    assert "omnistock_plan_cells_count 1.0" in text


def test_demo_tenant_is_seeded_once_and_plannable() -> None:
    from engine.core.settings import Settings
    from engine.services.stores import seed_demo

    keys = InMemoryKeyRepository()
    key = keys.create("demo", "operator")[0]
    stores = StoreRegistry(MemoryStore)
    client = TestClient(create_app(Settings(demo=True), keys=keys, stores=stores))
    auth = {"Authorization": f"Bearer {key}"}
    assert client.get("/v1/snapshot/version", headers=auth).json() == {"stock_version": 1}
    assert seed_demo(stores) is False  # a second worker or a restart keeps the state
    planned = client.post("/v1/plans", json={}, headers=auth)
    assert planned.status_code == 200, planned.text
    assert planned.json()["plan"]["kpis"]["skus"] == 5000
