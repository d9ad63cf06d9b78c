"""Fixtures of the store contract tests: every test runs on each implementation.

The Redis store uses `OMNISTOCK_REDIS_URL` or database 15 of the local server, a tenant
of its own per test, and deletes that tenant's keys afterwards. An unreachable Redis is
an error, not a skip: CI starts a server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from engine.store.base import Store
from engine.store.memory import MemoryStore
from engine.store.redis_store import RedisStore
from engine.store.sqlite_store import SqliteStore

TEST_REDIS_URL = os.environ.get("OMNISTOCK_REDIS_URL") or "redis://127.0.0.1:6379/15"

StoreFactory = Callable[[], Store]


@pytest.fixture(scope="session")
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis at {TEST_REDIS_URL} is not reachable: {error}")
    yield client
    client.close()


@pytest.fixture
def tenant() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["memory", "memory-file", "sqlite", "redis"])
def make_store(
    request: pytest.FixtureRequest, tenant: str, tmp_path: Path
) -> Iterator[StoreFactory]:
    """Makes stores of one tenant: each call is a new instance on the same state (a
    restart from the file, or a second connection to Redis)."""
    made: list[Store] = []
    kind = request.param
    client = request.getfixturevalue("redis_client") if kind == "redis" else None

    def make() -> Store:
        store: Store
        if kind == "memory":
            store = made[0] if made else MemoryStore(tenant)
        elif kind == "memory-file":
            store = MemoryStore(tenant, tmp_path / "state.json")
        elif kind == "sqlite":
            store = SqliteStore(tenant, tmp_path / "state.db")
        else:
            store = RedisStore(tenant, url=TEST_REDIS_URL)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()
    if client is not None:
        keys = list(client.scan_iter(match=f"omnistock:{tenant}:*", count=1000))
        if keys:
            client.delete(*keys)


@pytest.fixture
def store(make_store: StoreFactory) -> Store:
    return make_store()
