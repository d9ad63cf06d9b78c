"""Who did a thing last, read from the tenant's audit log (engine/services/audit.py):
the newest write through given routes that was done, not refused."""

from __future__ import annotations

from engine.services import audit
from engine.store.base import JsonObject, Store

LOOKBACK = 1000  # entries searched, newest first


def newest_done(
    store: Store, routes: frozenset[str], target: str | None = None
) -> JsonObject | None:
    """The newest entry of a write through one of `routes` that succeeded (and names
    `target` among the ids it acted on, if given); None if the log holds none."""
    for entry in audit.entries(store, LOOKBACK):
        if entry.get("route") not in routes or entry.get("status", 500) >= 400:
            continue
        if target is None or entry.get("target", {}).get(target):
            return entry
    return None
