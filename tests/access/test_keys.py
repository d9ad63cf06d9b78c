"""API keys: the right key passes; a wrong, tampered, malformed or revoked one fails;
only hashes reach the disk; both stores behave the same."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.access.errors import KeyFileUnavailable, Unauthenticated, UnknownKey
from engine.access.keys import KEY_PREFIX, new_key
from engine.access.repository import (
    InMemoryKeyRepository,
    JsonFileKeyRepository,
    KeyRepository,
    key_repository,
)
from engine.access.roles import Principal, Role
from engine.core.errors import InputError
from engine.core.settings import Settings

Store = Callable[[], KeyRepository]


@pytest.fixture(params=["memory", "json-file"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """Handles on one store: the same object in memory, a new reader of the same file
    (as another process would open it)."""
    if request.param == "memory":
        shared = InMemoryKeyRepository()
        return lambda: shared
    return lambda: JsonFileKeyRepository(tmp_path / "nested" / "keys.json")


def _flip(char: str) -> str:
    return "B" if char == "A" else "A"


def test_right_key_passes(make_store: Store) -> None:
    store = make_store()
    key, record = store.create("acme", "brand_viewer", "b1")
    assert key.startswith(f"{KEY_PREFIX}{record.key_id}_")
    assert make_store().authenticate(key) == Principal(
        record.key_id, "acme", Role.BRAND_VIEWER, "b1"
    )


def test_wrong_tampered_and_malformed_keys_fail(make_store: Store) -> None:
    store = make_store()
    key, record = store.create("acme", "operator")
    other, _ = new_key("acme", "operator")  # never stored
    tampered = key[:-1] + _flip(key[-1])
    other_secret = f"{KEY_PREFIX}{record.key_id}_{other.rsplit('_', 1)[-1]}"
    for bad in (other, tampered, other_secret, key + "x"):
        with pytest.raises(Unauthenticated, match="invalid key"):
            store.authenticate(bad)
    for bad in ("", "osk_", "Bearer " + key, key.removeprefix(KEY_PREFIX), "osk_XYZ_secret"):
        with pytest.raises(Unauthenticated, match="malformed key"):
            store.authenticate(bad)


def test_revoked_key_fails_and_stays_listed(make_store: Store) -> None:
    store = make_store()
    key, record = store.create("acme", "admin")
    kept, _ = store.create("acme", "operator")
    revoked = store.revoke(record.key_id)
    assert revoked.revoked_at is not None
    assert store.revoke(record.key_id) == revoked  # again: no change
    with pytest.raises(Unauthenticated, match=f"key {record.key_id} was revoked"):
        make_store().authenticate(key)
    assert make_store().authenticate(kept).role == Role.OPERATOR
    assert [r.key_id for r in store.list_keys("acme")][0] == record.key_id
    with pytest.raises(UnknownKey, match="no key with id 'feedfeedfeed'"):
        store.revoke("feedfeedfeed")


def test_list_by_tenant(make_store: Store) -> None:
    store = make_store()
    store.create("acme", "operator")
    store.create("acme", "brand_viewer", "b2")
    store.create("globex", "admin")
    assert [(r.tenant, r.role, r.brand) for r in store.list_keys("acme")] == [
        ("acme", Role.OPERATOR, None),
        ("acme", Role.BRAND_VIEWER, "b2"),
    ]
    assert len(store.list_keys()) == 3
    assert store.list_keys("initech") == []


def test_only_hashes_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    store = JsonFileKeyRepository(path)
    made = [store.create("acme", role, "b1" if role == "brand_viewer" else None) for role in Role]
    text = path.read_text(encoding="utf-8")
    for key, record in made:
        secret = key.split("_", 2)[2]  # osk_<id>_<secret>; the secret may hold "_"
        assert len(secret) >= 40
        assert key not in text and secret not in text
        assert record.digest in text
    assert set(json.loads(text)) == {"keys"}
    assert path.stat().st_mode & 0o077 == 0  # owner only
    assert [p.name for p in tmp_path.iterdir()] == ["keys.json"]  # no temp file left


@pytest.mark.parametrize(
    ("tenant", "role", "brand", "field", "message"),
    [
        ("acme", "brand_viewer", None, "brand", "required for role brand_viewer"),
        ("acme", "operator", "b1", "brand", "only a brand_viewer key has a brand"),
        ("acme", "admin", "b1", "brand", "only a brand_viewer key has a brand"),
        ("acme", "owner", None, "role", "'operator', 'brand_viewer' or 'admin'"),
        ("", "operator", None, "tenant", "at least 1 character"),
    ],
)
def test_bad_fields_are_refused_by_name(
    tenant: str, role: str, brand: str | None, field: str, message: str
) -> None:
    store = InMemoryKeyRepository()
    with pytest.raises(InputError) as caught:
        store.create(tenant, role, brand)
    assert [issue.path for issue in caught.value.issues] == [field]
    assert message in caught.value.issues[0].message
    assert store.list_keys() == []


def test_corrupt_key_file_names_the_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    store = JsonFileKeyRepository(path)
    store.create("acme", "operator")
    data = json.loads(path.read_text(encoding="utf-8"))
    data["keys"][0]["role"] = "root"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InputError, match=r"keys\.json") as caught:
        store.list_keys()
    assert caught.value.issues[0].path == "keys[0].role"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="not JSON"):
        store.list_keys()


def test_key_file_path_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMNISTOCK_KEYS_FILE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert Settings().keys_file == Path(".omnistock/keys.json")
    key, _ = key_repository(Settings()).create("acme", "operator")
    assert (tmp_path / ".omnistock" / "keys.json").exists()
    monkeypatch.setenv("OMNISTOCK_KEYS_FILE", str(tmp_path / "elsewhere.json"))
    # No key file there: no key can be checked (the service answers 503, not 401).
    with pytest.raises(KeyFileUnavailable, match="no key file"):
        key_repository(Settings()).authenticate(key)
