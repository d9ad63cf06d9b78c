"""The OpenAPI document: readable operation ids, and an example for every request body."""

from __future__ import annotations

from api.app import create_app
from engine.access.repository import InMemoryKeyRepository
from engine.services.stores import StoreRegistry


def test_openapi_has_examples_and_operation_ids() -> None:
    app = create_app(keys=InMemoryKeyRepository(), stores=StoreRegistry())
    spec = app.openapi()
    operations = [
        op
        for path, item in spec["paths"].items()
        if path.startswith("/v1/")
        for op in item.values()
    ]
    ids = {op["operationId"] for op in operations}
    assert {"put-snapshot", "create-plan", "publish-plan", "create-order"} <= ids
    for op in operations:
        if "requestBody" not in op:
            continue
        content = op["requestBody"]["content"]["application/json"]
        schema = content["schema"]
        if "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        elif "anyOf" in schema:
            ref = next(s["$ref"] for s in schema["anyOf"] if "$ref" in s)
            schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert "examples" in schema or "example" in content, op["operationId"]
