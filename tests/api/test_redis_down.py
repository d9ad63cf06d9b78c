"""Redis really down (a redis-server of the test's own, killed): every keyed route
answers 503 JSON with Retry-After, never a text/plain 500, and the service answers
again once Redis is back. No mocks: the connection is refused by the OS."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.app import create_app
from api.urls import API_PREFIX
from engine.access.repository import InMemoryKeyRepository
from engine.core.settings import Settings
from engine.services.stores import StoreRegistry
from engine.store.redis_store import RedisStore
from tests.helpers import snapshot_data
from tests.redis_server import RedisServer

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's httpx2 notice, as in tests/api
    from fastapi.testclient import TestClient


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    redis_server = RedisServer(tmp_path).start()
    yield redis_server
    redis_server.stop()


def _client(url: str, shared: bool) -> tuple[TestClient, str]:
    """An app on the Redis at `url`: `shared`, as a deployment runs it (stores, jobs and
    the rate limit there), else the stores only (rate limit in memory, no job queue)."""
    keys = InMemoryKeyRepository()
    key = keys.create("acme", "operator")[0]
    stores = StoreRegistry(lambda t: RedisStore(t, url=url), redis_url=url if shared else None)
    app = create_app(Settings(), keys=keys, stores=stores)
    return TestClient(app, headers={"Authorization": f"Bearer {key}"}), key


def _down(response: object) -> None:
    assert response.status_code == 503, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/json"  # type: ignore[attr-defined]
    assert int(response.headers["retry-after"]) > 0  # type: ignore[attr-defined]
    detail = response.json()["detail"]  # type: ignore[attr-defined]
    assert detail["store"] == "unavailable" and "try again" in detail["message"]


def test_every_keyed_route_is_503_with_retry_after_while_redis_is_down(
    server: RedisServer,
) -> None:
    client, _ = _client(server.url, shared=True)
    with client:
        snapshot = {**snapshot_data(pools={"S": 10}), "tenant": "acme"}
        assert client.put("/v1/snapshot", json=snapshot).status_code == 200
        server.stop()

        paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
        seen = 0
        for template, operations in paths.items():
            if not template.startswith(API_PREFIX + "/"):
                continue
            path = re.sub(r"\{[^}]+\}", "x", template)
            for method in operations:
                response = client.request(method, path, json={}, headers={"Idempotency-Key": "k-1"})
                _down(response)
                seen += 1
        assert seen >= 20
        ready = client.get("/readyz")
        assert ready.status_code == 503 and int(ready.headers["retry-after"]) > 0
        assert ready.json()["store"] is False and ready.json()["queue"] is False
        assert client.get("/healthz").status_code == 200  # the process itself answers

        server.start()  # the same port, empty (nothing was saved)
        assert client.get("/v1/snapshot/version").json() == {"stock_version": 0}
        assert client.get("/readyz").status_code == 200


def test_routes_that_need_the_store_are_503_with_the_limit_counted_in_memory(
    server: RedisServer,
) -> None:
    client, _ = _client(server.url, shared=False)
    with client:
        assert client.get("/v1/mode").status_code == 200  # subscribed to the broadcast
        server.stop()
        order = {"shop": "A", "sku": "S", "quantity": 1}
        for method, path, body in [
            ("get", "/v1/snapshot/version", None),
            ("get", "/v1/mode", None),
            ("put", "/v1/mode", {"mode": "peak"}),
            ("post", "/v1/orders", order),
            ("get", "/v1/published", None),
            ("post", "/v1/plans", {}),
        ]:
            _down(client.request(method, path, json=body))
        # What needs no store still answers.
        assert client.get("/v1/whoami").status_code == 200
