"""Request bodies that JSON itself cannot carry into Python: nesting too deep to read,
integers too long to convert, bytes that are not UTF-8. Each is a 422 whose path names
the field where it can be found (the body as a whole where it cannot), never a bare
400 or a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.helpers import snapshot_data


@pytest.fixture
def client() -> Any:
    import warnings

    from api.app import create_app
    from engine.access.repository import InMemoryKeyRepository
    from engine.services.stores import StoreRegistry

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Starlette's httpx2 notice, as in tests/api
        from fastapi.testclient import TestClient

    keys = InMemoryKeyRepository()
    key = keys.create("acme", "operator")[0]
    headers = {"Authorization": f"Bearer {key}", "content-type": "application/json"}
    return TestClient(create_app(keys=keys, stores=StoreRegistry()), headers=headers)


def _detail(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 422, response.text
    detail: list[dict[str, str]] = response.json()["detail"]
    return detail


def test_nesting_too_deep_to_read(client: Any) -> None:
    deep = b"[" * 10_000 + b"]" * 10_000
    detail = _detail(client.put("/v1/ruleset", content=deep))
    assert detail == [
        {"path": "body", "message": "nested too deep to read (about 1,000 levels at most)"}
    ]


def test_an_integer_of_5000_digits_is_named_by_its_field(client: Any) -> None:
    order = b'{"shop": "A", "sku": "S", "quantity": ' + b"9" * 5000 + b"}"
    assert _detail(client.post("/v1/orders", content=order))[0]["path"] == "body.quantity"
    snapshot = {**snapshot_data(pools={"S": 10}), "tenant": "acme"}
    text = json.dumps(snapshot).replace('"on_hand": 10', '"on_hand": -' + "1" * 5000)
    detail = _detail(client.put("/v1/snapshot", content=text.encode()))
    assert [d["path"] for d in detail] == ["body.stock[0].on_hand"]
    # 4,300 digits still read as the integer they are (and are then too large a count).
    text = json.dumps(snapshot).replace('"on_hand": 10', '"on_hand": ' + "1" * 4300)
    assert _detail(client.put("/v1/snapshot", content=text.encode()))[0]["path"] == (
        "body.stock[0].on_hand"
    )


def test_bytes_that_are_not_utf8(client: Any) -> None:
    inside = b'{"shop": "A\xff", "sku": "S", "quantity": 1}'
    assert _detail(client.post("/v1/orders", content=inside)) == [
        {"path": "body.shop", "message": "not UTF-8 text: byte 0xff at offset 11"}
    ]
    nested = b'{"version": 1, "stock": [{"sku": "S", "warehouse": "W\xc3"}]}'
    detail = _detail(client.patch("/v1/snapshot/stock", content=nested))
    assert detail[0]["path"] == "body.stock[0].warehouse"
    outside = b'{"shop": "A", "sku": "S", "quantity": 1\xff}'
    assert _detail(client.post("/v1/orders", content=outside))[0]["path"] == "body"


def test_ordinary_json_reads_as_before(client: Any) -> None:
    snapshot = {**snapshot_data(pools={"S": 10}), "tenant": "acme"}
    assert client.put("/v1/snapshot", json=snapshot).json() == {"stock_version": 1}
    broken = _detail(client.put("/v1/ruleset", content=b'{"rules": ['))
    assert broken[0]["message"] == "JSON decode error"
