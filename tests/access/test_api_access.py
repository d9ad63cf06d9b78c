"""The API key dependency end to end: 401 without a valid key (on /v1/whoami), and a
test-only route that asks authorize() for a tenant and brand (403 when refused). What
/v1/whoami answers: tests/api/routes/test_access.py."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import APIRouter
from typer.testing import CliRunner

from api.app import create_app
from api.deps import PrincipalDep
from engine.access.repository import InMemoryKeyRepository, JsonFileKeyRepository
from engine.access.roles import Action, authorize
from engine.cli.app import app as cli

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's httpx2 notice, as in tests/api
    from fastapi.testclient import TestClient

# Test only: act for a brand of a tenant, as the snapshot and plan routes will.
probe = APIRouter()


@probe.get("/test/{tenant}/{brand}/{action}")
def act(principal: PrincipalDep, tenant: str, brand: str, action: Action) -> dict[str, str]:
    authorize(principal, action, tenant, None if brand == "-" else brand)
    return {"ok": action}


@pytest.fixture(scope="module")
def keys() -> InMemoryKeyRepository:
    return InMemoryKeyRepository()


@pytest.fixture(scope="module")
def client(keys: InMemoryKeyRepository) -> Iterator[TestClient]:
    app = create_app(keys=keys)
    app.include_router(probe)
    with TestClient(app) as test_client:
        yield test_client


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer"}],
    ids=["none", "basic", "empty"],
)
def test_no_key_is_401(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get("/v1/whoami", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {
        "detail": {
            "header": "Authorization",
            "message": "send the header Authorization: Bearer <key>",
        }
    }


def test_bad_keys_are_401(client: TestClient, keys: InMemoryKeyRepository) -> None:
    key, record = keys.create("acme", "operator")
    tampered = key[:-1] + ("B" if key[-1] == "A" else "A")
    for bad, message in [
        ("not-a-key", "malformed key: expected osk_<id>_<secret>"),
        (tampered, "invalid key"),
    ]:
        response = client.get("/v1/whoami", headers=_bearer(bad))
        assert response.status_code == 401
        assert response.json()["detail"] == {"header": "Authorization", "message": message}
    revoked, old = keys.create("acme", "operator")
    keys.revoke(old.key_id)
    response = client.get("/v1/whoami", headers=_bearer(revoked))
    assert response.status_code == 401
    assert f"key {old.key_id} was revoked" in response.json()["detail"]["message"]


def test_brand_viewer_cannot_act_for_another_brand(
    client: TestClient, keys: InMemoryKeyRepository
) -> None:
    key, record = keys.create("acme", "brand_viewer", "b1")
    assert client.get("/test/acme/b1/read", headers=_bearer(key)).status_code == 200
    refused = {
        "/test/acme/b2/read": ("read", "acme", "b2"),
        "/test/acme/-/read": ("read", "acme", None),
        "/test/acme/b1/write": ("write", "acme", "b1"),
        "/test/globex/b1/read": ("read", "globex", "b1"),
    }
    for url, (action, tenant, brand) in refused.items():
        response = client.get(url, headers=_bearer(key))
        assert response.status_code == 403, url
        detail = response.json()["detail"]
        assert (detail["action"], detail["tenant"], detail["brand"]) == (action, tenant, brand)
        assert (detail["key_id"], detail["role"]) == (record.key_id, "brand_viewer")
        assert f"may not {action} tenant '{tenant}'" in detail["message"]


def test_operator_acts_for_every_brand_of_its_tenant_only(
    client: TestClient, keys: InMemoryKeyRepository
) -> None:
    key, _ = keys.create("acme", "operator")
    for url in ("/test/acme/b1/write", "/test/acme/b2/read", "/test/acme/-/write"):
        assert client.get(url, headers=_bearer(key)).status_code == 200, url
    assert client.get("/test/globex/b1/read", headers=_bearer(key)).status_code == 403
    assert client.get("/test/acme/b1/manage_keys", headers=_bearer(key)).status_code == 403


def test_cli_key_works_on_the_service_until_revoked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNISTOCK_KEYS_FILE", str(tmp_path / "keys.json"))
    runner = CliRunner()
    made = runner.invoke(cli, ["keys", "create", "--tenant", "acme", "--role", "operator"])
    assert made.exit_code == 0, made.output
    key = made.stdout.strip()
    with TestClient(create_app()) as service:  # the key file from the environment
        response = service.get("/v1/whoami", headers=_bearer(key))
        assert response.status_code == 200
        assert response.json()["role"] == "operator"
        key_id = response.json()["key_id"]
        assert runner.invoke(cli, ["keys", "revoke", key_id]).exit_code == 0
        assert service.get("/v1/whoami", headers=_bearer(key)).status_code == 401
    assert JsonFileKeyRepository(tmp_path / "keys.json").get(key_id) is not None
