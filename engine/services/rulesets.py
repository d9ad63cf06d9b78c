"""The tenant's rulesets: checked against the current snapshot, stored as versions."""

from __future__ import annotations

from engine.core.errors import InputError
from engine.core.index import SnapshotIndex
from engine.services.snapshots import stored_snapshot
from engine.store.base import JsonObject, Store
from engine.store.errors import NotFound
from rules.catalog import Ruleset
from rules.load import parse_ruleset
from rules.references import check_references


def check_ruleset(store: Store, body: JsonObject) -> Ruleset:
    """The parsed ruleset; InputError naming each rule (position and id) and field, also
    for names the current snapshot does not have."""
    ruleset = parse_ruleset(body, "body")
    try:
        _, snapshot = stored_snapshot(store)
    except NotFound:
        return ruleset
    try:
        check_references(ruleset, SnapshotIndex.build(snapshot))
    except InputError as error:
        raise InputError(error.issues, "body") from None
    return ruleset


def validate_ruleset(store: Store, body: JsonObject) -> int:
    """The number of rules of a valid ruleset (nothing stored)."""
    return len(check_ruleset(store, body).rules)


def put_ruleset(store: Store, body: JsonObject) -> int:
    """Store a checked ruleset as the next version; that version."""
    check_ruleset(store, body)
    return store.put_ruleset(body)


def get_ruleset(store: Store) -> tuple[int, JsonObject]:
    """The latest ruleset and its version (a tenant-wide document: never cut to a brand)."""
    stored = store.get_ruleset()
    return stored.version, stored.body
