"""The tenant's snapshot: replaced whole, or its stock rows patched at a stock version."""

from __future__ import annotations

from engine.core.errors import InputError, Issue
from engine.core.io import parse_snapshot
from engine.core.snapshot import Snapshot
from engine.store.base import JsonObject, Store, merge_stock
from engine.store.errors import StaleVersion


def put_snapshot(store: Store, body: JsonObject) -> int:
    """Replace the snapshot (it must be the store's tenant's); the new stock version."""
    snapshot = parse_snapshot(body, "body")
    if snapshot.tenant != store.tenant:
        message = f"must be the key's tenant {store.tenant!r}, not {snapshot.tenant!r}"
        raise InputError([Issue("tenant", message)], "body")
    return store.put_snapshot(body)


def stock_version(store: Store) -> int:
    return store.stock_version()


def patch_stock(store: Store, rows: list[JsonObject], version: int) -> int:
    """Apply stock rows at `version`; the merged snapshot must still be valid.

    A stale version is refused (StaleVersion, 409) before the rows are checked (422): a
    client on an old version must read the stock again anyway, and its rows may be
    right against the current one. The store checks the version again as it writes."""
    current = store.get_snapshot()
    if version != current.version:
        raise StaleVersion("stock patch", version, current.version)
    merged = merge_stock(current.body, rows, "body.stock")
    parse_snapshot(merged, "body.stock (merged into the snapshot)")
    return store.patch_stock(rows, version)


def stored_snapshot(store: Store) -> tuple[int, Snapshot]:
    """The stored snapshot, parsed, and its stock version; NotFound before the first."""
    stored = store.get_snapshot()
    return stored.version, parse_snapshot(stored.body, "stored snapshot")
