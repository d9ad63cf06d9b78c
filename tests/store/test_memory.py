"""What only the in-memory store has: its file, written so that a crash never loses or
half-writes the state."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engine.core.errors import InputError
from engine.store.base import SharedPart
from engine.store.memory import MemoryStore
from engine.store.redis_store import RedisStore

SNAPSHOT = {"tenant": "acme", "stock": [{"sku": "S1", "warehouse": "W1", "on_hand": 3}]}


def test_the_file_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state" / "acme.json"
    store = MemoryStore("acme", path)
    store.put_snapshot(SNAPSHOT)
    allocations = [
        {"shop": "A", "sku": "S1", "quantity": 3, "shared": 2},
        {"shop": "B", "sku": "S1", "quantity": 0, "shared": 2},
    ]
    store.put_plan("p1", {"allocations": allocations})
    store.publish("p1", "k", "h", 1)
    store.consume("A", "S1", 1)
    store.consume("B", "S1", 1)
    store.put_scenario_run("r1", {"comparison": {}})
    assert json.loads(path.read_text())["tenant"] == "acme"

    again = MemoryStore("acme", path)
    assert again.get_snapshot().body == SNAPSHOT
    assert again.published() == {("A", "S1"): 2, ("B", "S1"): 0}
    assert again.published_shared() == {"S1": SharedPart(1, ("A", "B"))}
    assert again.get_scenario_run("r1") == {"comparison": {}}
    assert list(path.parent.iterdir()) == [path], "no temporary file is left behind"


def test_a_crash_mid_write_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "acme.json"
    store = MemoryStore("acme", path)
    store.put_snapshot(SNAPSHOT)
    before = path.read_bytes()

    def crash(*_: object) -> None:
        raise OSError("killed before the rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="killed"):
        store.put_snapshot({**SNAPSHOT, "stock": []})
    monkeypatch.undo()

    assert path.read_bytes() == before
    assert store.stock_version() == 1, "memory goes back to what the file holds"
    assert store.get_snapshot().body == SNAPSHOT
    assert MemoryStore("acme", path).get_snapshot().body == SNAPSHOT
    assert list(tmp_path.iterdir()) == [path]


def test_a_crash_before_the_first_file_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "acme.json"
    store = MemoryStore("acme", path)
    monkeypatch.setattr(os, "fsync", lambda _: (_ for _ in ()).throw(OSError("disk gone")))
    with pytest.raises(OSError):
        store.put_snapshot(SNAPSHOT)
    monkeypatch.undo()
    assert store.stock_version() == 0
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_another_tenants_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    MemoryStore("acme", path).put_snapshot(SNAPSHOT)
    with pytest.raises(ValueError, match="tenant 'other'"):
        MemoryStore("other", path)


@pytest.mark.parametrize("tenant", ["", "a:b", "a*", "a b"])
def test_tenant_ids_safe_in_keys_and_files(tenant: str) -> None:
    with pytest.raises(InputError):
        MemoryStore(tenant)
    with pytest.raises(InputError):
        RedisStore(tenant, url="redis://127.0.0.1:1/0")
