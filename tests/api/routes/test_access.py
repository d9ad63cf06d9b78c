"""GET /v1/whoami: who each kind of key says it is (the key dependency's 401s and the
permission checks: tests/access/test_api_access.py and tests/api/test_permissions.py)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from engine.access.repository import InMemoryKeyRepository


@pytest.mark.parametrize(
    ("tenant", "role", "brand"),
    [("acme", "operator", None), ("acme", "brand_viewer", "b1"), ("globex", "admin", None)],
)
def test_good_keys_say_who_they_are(
    client: TestClient, keys: InMemoryKeyRepository, tenant: str, role: str, brand: str | None
) -> None:
    key, record = keys.create(tenant, role, brand)
    response = client.get("/v1/whoami", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200
    assert response.json() == {
        "key_id": record.key_id,
        "tenant": tenant,
        "role": role,
        "brand": brand,
    }


def test_openapi_declares_the_bearer_scheme(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert spec["paths"]["/v1/whoami"]["get"]["operationId"] == "whoami"
