"""The stored text of the snapshot and of rulesets (`get_snapshot_text`,
`get_ruleset_text`), on every store: the very text the parsed getters read, with the
version it was read at, so a reader may hash it instead of parsing it."""

from __future__ import annotations

import json

import pytest

from engine.store.base import Store, dumps
from engine.store.errors import NotFound
from tests.store.test_contract import SNAPSHOT


def test_the_snapshot_text_is_the_stored_document_at_its_version(store: Store) -> None:
    with pytest.raises(NotFound):
        store.get_snapshot_text()
    version = store.put_snapshot(SNAPSHOT)
    stored = store.get_snapshot_text()
    assert (stored.version, stored.text) == (version, dumps(SNAPSHOT))
    row = {"sku": "S1", "warehouse": "W1", "on_hand": 3}
    patched = store.patch_stock([row], version)
    stored = store.get_snapshot_text()
    assert stored.version == patched
    assert json.loads(stored.text)["stock"][0] == row
    assert json.loads(stored.text) == store.get_snapshot().body


def test_a_ruleset_text_is_its_stored_document(store: Store) -> None:
    with pytest.raises(NotFound):
        store.get_ruleset_text()
    first = {"rules": [{"id": "r1", "note": "caf\u00e9"}]}
    store.put_ruleset(first)
    store.put_ruleset({"rules": []})
    latest = store.get_ruleset_text()
    assert (latest.version, latest.text) == (2, dumps({"rules": []}))
    one = store.get_ruleset_text(1)
    assert (one.version, json.loads(one.text)) == (1, first)
    with pytest.raises(NotFound):
        store.get_ruleset_text(3)


def test_a_plan_reads_back_as_it_was_put(store: Store) -> None:
    # Written by orjson, not `dumps`: every value a plan holds must read back the same.
    plan = {
        "plan_id": "p-\u53cc\u5341\u4e00",
        "kpis": {"utilisation": 0.1 + 0.2, "units": 2**53, "tiny": 1e-05, "big": 1e16},
        "allocations": [{"sku": "S\u00e9", "quantity": 3, "binding": [], "listed": True}],
        "warnings": None,
        "service": {"brands": {"skus": {"S\u00e9": "b"}}},
    }
    store.put_plan("p1", plan)
    assert store.get_plan("p1") == plan == json.loads(dumps(plan))
