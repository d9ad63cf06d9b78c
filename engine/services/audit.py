"""The tenant's audit log: one entry per write made through the API (refused ones too),
saying who (key id and role), what (method, route and the ids it acted on), when and
how it ended (the HTTP status). Kept in the tenant's store, newest first, bounded
(engine/store/base.py AUDIT_KEEP); read by the tenant's admins."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.access.roles import Principal
from engine.store.base import JsonObject, Store


def audit_entry(
    principal: Principal,
    method: str,
    route: str,
    target: dict[str, str],
    status: int,
    request_id: str,
) -> JsonObject:
    """One write as the log keeps it."""
    return {
        "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "tenant": principal.tenant,
        "key_id": principal.key_id,
        "role": str(principal.role),
        "method": method,
        "route": route,
        "target": target,
        "status": status,
        "request_id": request_id,
    }


def record(store: Store, entry: JsonObject) -> None:
    store.append_audit(entry)


def entries(store: Store, limit: int) -> list[JsonObject]:
    """The newest `limit` entries, newest first."""
    return store.audit_entries(limit)
