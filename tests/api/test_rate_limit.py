"""The per-key rate limit: past its burst a key gets 429 with Retry-After (other keys
do not); in memory per process, on Redis one budget per key for every API worker (two
apps on one Redis stand for two `omnistock serve` workers)."""

from __future__ import annotations

import os
import time
import warnings

from api.app import create_app
from engine.access.repository import InMemoryKeyRepository
from engine.core.settings import Settings
from engine.services.stores import StoreRegistry
from engine.store.redis_store import RedisStore

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's httpx2 notice, as in tests/api
    from fastapi.testclient import TestClient

REDIS_URL = os.environ.get("OMNISTOCK_REDIS_URL") or "redis://127.0.0.1:6379/15"
LIMITED = Settings(rate_limit_per_s=1.0, rate_limit_burst=3)  # 3 requests per 3 s


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_key_past_its_burst_is_429_with_retry_after() -> None:
    keys = InMemoryKeyRepository()
    key, record = keys.create("acme", "operator")
    other = keys.create("acme", "operator")[0]
    client = TestClient(create_app(LIMITED, keys=keys, stores=StoreRegistry()))
    for _ in range(3):
        assert client.get("/v1/whoami", headers=_auth(key)).status_code == 200
    refused = client.get("/v1/snapshot/version", headers=_auth(key))
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 3
    detail = refused.json()["detail"]
    assert detail["key_id"] == record.key_id and detail["limit"] == "3 requests per 3 s"
    assert detail["retry_after_s"] == int(refused.headers["retry-after"])
    assert client.get("/v1/whoami", headers=_auth(other)).status_code == 200, "its own budget"
    assert client.get("/healthz").status_code == 200  # keyless routes are not counted
    time.sleep(int(refused.headers["retry-after"]) + 0.1)
    assert client.get("/v1/whoami", headers=_auth(key)).status_code == 200


def test_on_redis_every_worker_shares_one_budget_per_key() -> None:
    keys = InMemoryKeyRepository()
    key = keys.create("acme", "operator")[0]

    def worker() -> TestClient:
        stores = StoreRegistry(lambda t: RedisStore(t, url=REDIS_URL), redis_url=REDIS_URL)
        return TestClient(create_app(LIMITED, keys=keys, stores=stores))

    first, second = worker(), worker()
    with first, second:
        assert first.get("/v1/whoami", headers=_auth(key)).status_code == 200
        assert second.get("/v1/whoami", headers=_auth(key)).status_code == 200
        assert first.get("/v1/whoami", headers=_auth(key)).status_code == 200
        assert second.get("/v1/whoami", headers=_auth(key)).status_code == 429


def test_a_rate_of_0_turns_the_limit_off() -> None:
    keys = InMemoryKeyRepository()
    key = keys.create("acme", "operator")[0]
    off = Settings(rate_limit_per_s=0, rate_limit_burst=1)
    client = TestClient(create_app(off, keys=keys, stores=StoreRegistry()))
    for _ in range(20):
        assert client.get("/v1/whoami", headers=_auth(key)).status_code == 200
