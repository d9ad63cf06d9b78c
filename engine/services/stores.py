"""One state store per tenant, made on first use, and the demo tenant's data."""

from __future__ import annotations

import threading
from collections.abc import Callable

from engine.core.settings import Settings
from engine.store.base import Store
from engine.store.memory import MemoryStore

StoreFactory = Callable[[str], Store]
DEMO_TENANT = "demo"


class StoreRegistry:
    """One store per tenant, made on first use by `factory` and kept for the process."""

    def __init__(
        self,
        factory: StoreFactory | None = None,
        redis_url: str | None = None,
        mode_max_age_s: float | None = None,
    ) -> None:
        self._factory: StoreFactory = factory or MemoryStore
        # Set when the stores live in this Redis: jobs then go to RQ on it as well.
        self.redis_url = redis_url
        # Set in API workers: each store's mode is then heard from the broadcast.
        self._mode_max_age_s = mode_max_age_s
        self._stores: dict[str, Store] = {}
        self._lock = threading.Lock()

    def get(self, tenant: str) -> Store:
        with self._lock:
            store = self._stores.get(tenant)
            if store is None:
                store = self._stores[tenant] = self._factory(tenant)
                if self._mode_max_age_s is not None:
                    store.watch_mode(self._mode_max_age_s)
            return store

    def ping(self) -> bool:
        """Whether a store made by this registry answers (readiness)."""
        try:
            return self.get("_readiness").ping()
        except Exception:  # any failure to reach the store means not ready
            return False

    def close(self) -> None:
        with self._lock:
            stores, self._stores = list(self._stores.values()), {}
        for store in stores:
            store.close()


def store_registry(settings: Settings, mode_max_age_s: float | None = None) -> StoreRegistry:
    """RedisStore per tenant when `settings.redis_url` is set; else SqliteStore in
    `settings.state_path` when that is set; else MemoryStore. With `mode_max_age_s`, each
    store's mode is watched (engine/store/watch.py)."""
    url = settings.redis_url
    if not url:
        path = settings.state_path
        if path is None:
            return StoreRegistry(mode_max_age_s=mode_max_age_s)
        from engine.store.sqlite_store import SqliteStore

        return StoreRegistry(
            lambda tenant: SqliteStore(tenant, path), mode_max_age_s=mode_max_age_s
        )
    from engine.store.redis_store import RedisStore

    return StoreRegistry(
        lambda tenant: RedisStore(tenant, url=url), redis_url=url, mode_max_age_s=mode_max_age_s
    )


def seed_demo(stores: StoreRegistry) -> bool:
    """Give the tenant "demo" the demo snapshot and rules unless it has a snapshot
    already (so restarts and other workers sharing Redis do not overwrite its state)."""
    from engine.demo import build_demo

    store = stores.get(DEMO_TENANT)
    if store.stock_version() > 0:
        return False
    snapshot, rules = build_demo()
    store.put_snapshot({**snapshot, "tenant": DEMO_TENANT})
    store.put_ruleset(rules)
    return True
