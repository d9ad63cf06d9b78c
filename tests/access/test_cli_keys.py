"""`omnistock keys create|list|revoke` on a temporary key file (OMNISTOCK_KEYS_FILE)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.access.errors import Unauthenticated
from engine.access.repository import JsonFileKeyRepository
from engine.access.roles import Role
from engine.cli.app import app

runner = CliRunner()


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "keys.json"
    monkeypatch.setenv("OMNISTOCK_KEYS_FILE", str(path))
    monkeypatch.setenv("COLUMNS", "200")  # rich tables unwrapped
    return path


def _create(*args: str) -> tuple[str, str]:
    """The key (alone on stdout) and the message on stderr."""
    result = runner.invoke(app, ["keys", "create", *args])
    assert result.exit_code == 0, result.output
    return result.stdout.strip(), result.stderr


def test_create_prints_the_key_once_and_stores_its_hash(key_file: Path) -> None:
    key, said = _create("--tenant", "acme", "--role", "brand_viewer", "--brand", "b1")
    store = JsonFileKeyRepository(key_file)
    principal = store.authenticate(key)
    assert (principal.tenant, principal.role, principal.brand) == ("acme", "brand_viewer", "b1")
    assert f"created key {principal.key_id}" in said and "only this once" in said
    assert key not in key_file.read_text(encoding="utf-8")


def test_list_shows_ids_never_keys(key_file: Path) -> None:
    operator, _ = _create("--tenant", "acme", "--role", "operator")
    viewer, _ = _create("--tenant", "acme", "--role", "brand_viewer", "--brand", "b2")
    admin, _ = _create("--tenant", "globex", "--role", "admin")
    store = JsonFileKeyRepository(key_file)
    ids = {key: store.authenticate(key).key_id for key in (operator, viewer, admin)}
    listed = runner.invoke(app, ["keys", "list"])
    assert listed.exit_code == 0, listed.output
    for key, key_id in ids.items():
        assert key_id in listed.stdout
        # osk_<id>_<secret>: the secret itself may contain "_", so split twice only.
        secret = key.split("_", 2)[2]
        assert len(secret) >= 40
        assert key not in listed.stdout and secret not in listed.stdout
    assert "brand_viewer" in listed.stdout and "b2" in listed.stdout
    acme = runner.invoke(app, ["keys", "list", "--tenant", "acme"])
    assert ids[operator] in acme.stdout and ids[viewer] in acme.stdout
    assert ids[admin] not in acme.stdout and "globex" not in acme.stdout


def test_revoke(key_file: Path) -> None:
    key, _ = _create("--tenant", "acme", "--role", "operator")
    store = JsonFileKeyRepository(key_file)
    key_id = store.authenticate(key).key_id
    result = runner.invoke(app, ["keys", "revoke", key_id])
    assert result.exit_code == 0, result.output
    assert f"key {key_id} revoked at" in result.stdout
    with pytest.raises(Unauthenticated, match="revoked"):
        store.authenticate(key)
    unknown = runner.invoke(app, ["keys", "revoke", "feedfeedfeed"])
    assert unknown.exit_code == 2
    assert "no key with id 'feedfeedfeed'" in unknown.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "brand_viewer"], "--brand: required for role brand_viewer"),
        (["--role", "operator", "--brand", "b1"], "--brand: only a brand_viewer key has a brand"),
        (["--role", "root"], "--role: Input should be 'operator', 'brand_viewer' or 'admin'"),
    ],
)
def test_bad_options_exit_2_naming_the_option(
    key_file: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(app, ["keys", "create", "--tenant", "acme", *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == "" and not key_file.exists()


def test_every_role_can_be_created(key_file: Path) -> None:
    for role in Role:
        extra = ["--brand", "b1"] if role == Role.BRAND_VIEWER else []
        _create("--tenant", "acme", "--role", role.value, *extra)
    assert [r.role for r in JsonFileKeyRepository(key_file).list_keys()] == list(Role)
