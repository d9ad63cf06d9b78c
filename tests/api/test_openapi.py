"""The OpenAPI document tells the truth: readable operation ids and an example for every
request body; every status a route can answer documented, with the body it is served
with (real answers are checked against the documented schema); the bodies that carry a
document (snapshot, ruleset, scenario, plan...) have the engine model's own schema."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel

from api.app import AREAS, create_app
from api.deps import get_principal
from api.routes import health
from api.schemas.scenarios import ScenarioRequest
from api.schemas.shelf import EXAMPLE_SHELF
from api.urls import API_PREFIX
from engine.access.repository import InMemoryKeyRepository
from engine.core.plan import Plan
from engine.core.settings import Settings
from engine.core.snapshot import Snapshot, StockRow
from engine.scenarios.format import Scenario
from engine.services.stores import StoreRegistry
from engine.shelf.inputs import ShelfInput
from engine.shelf.selection import SelectionInput
from rules.catalog import Ruleset
from tests.helpers import snapshot_data

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's httpx2 notice, as in tests/api
    from fastapi.testclient import TestClient

TENANT = "acme"


def _app(settings: Settings | None = None, keys: InMemoryKeyRepository | None = None) -> FastAPI:
    return create_app(
        settings or Settings(), keys=keys or InMemoryKeyRepository(), stores=StoreRegistry()
    )


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return _app().openapi()


class Api:
    """A client of a fresh app, with an operator's and a brand viewer's key."""

    def __init__(self, client: TestClient, keys: InMemoryKeyRepository) -> None:
        self.client = client
        self.operator = {"Authorization": f"Bearer {keys.create(TENANT, 'operator')[0]}"}
        viewer = keys.create(TENANT, "brand_viewer", "b1")[0]
        self.viewer = {"Authorization": f"Bearer {viewer}"}


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    keys = InMemoryKeyRepository()
    with TestClient(_app(Settings(max_body_bytes=100_000), keys)) as client:
        yield Api(client, keys)


def _resolve(schema: Any, components: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """`schema` with every local $ref (#/components/schemas/X or #/$defs/X) replaced by
    what it names, so that two documents naming their parts differently compare equal."""
    if isinstance(schema, list):
        return [_resolve(item, components, seen) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        assert name not in seen, f"recursive schema {name}"  # none of the documents is
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        return {**_resolve(components[name], components, (*seen, name)), **rest}
    resolved = {k: _resolve(v, components, seen) for k, v in schema.items() if k != "$defs"}
    if "discriminator" in schema:  # its mapping names the parts: by name only
        mapping = schema["discriminator"].get("mapping", {})
        names = {tag: ref.rsplit("/", 1)[1] for tag, ref in mapping.items()}
        resolved["discriminator"] = {**schema["discriminator"], "mapping": names}
    return resolved


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, op in item.items():
            yield path, method, op


def _documented(spec: dict[str, Any], path: str, method: str, response: Any) -> None:
    """The answer's status is documented for the operation, with its content type, and
    its body is valid against the documented schema."""
    op = spec["paths"][path][method]
    status = str(response.status_code)
    assert status in op["responses"], f"{method} {path}: {status} undocumented"
    media = response.headers["content-type"].split(";")[0]
    content = op["responses"][status]["content"]
    assert media in content, f"{method} {path} {status}: {media} undocumented ({list(content)})"
    if media == "application/json":
        schema = {**content[media]["schema"], "components": spec["components"]}
        jsonschema.validate(response.json(), schema)


def test_openapi_has_examples_and_operation_ids(spec: dict[str, Any]) -> None:
    operations = [op for path, _, op in _operations(spec) if path.startswith("/v1/")]
    ids = {op["operationId"] for op in operations}
    assert {"put-snapshot", "create-plan", "publish-plan", "create-order"} <= ids
    for op in operations:
        if "requestBody" not in op:
            continue
        bodies = op["requestBody"]["content"]
        if "application/json" not in bodies:  # a file upload: a text type shows one
            assert any("example" in c or "examples" in c for c in bodies.values()), op
            continue
        content = bodies["application/json"]
        schema = content["schema"]
        if "$ref" in schema and "examples" not in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        elif "anyOf" in schema:
            ref = next(s["$ref"] for s in schema["anyOf"] if "$ref" in s)
            schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert "examples" in schema or "example" in content, op["operationId"]


def _routes() -> Iterator[tuple[str, APIRoute]]:
    """Every route of the app with its path as the document has it."""
    mounted = [(API_PREFIX, area.router) for area in AREAS] + [("", health.router)]
    for prefix, router in mounted:
        for route in router.routes:
            assert isinstance(route, APIRoute)
            yield prefix + route.path_format, route


def _depends_on(route: APIRoute, call_name: str) -> bool:
    stack = list(route.dependant.dependencies)
    while stack:
        dependency = stack.pop()
        if dependency.call is not None and call_name in getattr(
            dependency.call, "__qualname__", ""
        ):
            return True
        stack.extend(dependency.dependencies)
    return False


def test_every_operation_documents_what_its_declaration_can_answer(spec: dict[str, Any]) -> None:
    """From each route's own declaration: a key is 401 (none or invalid), 429 (over its
    rate limit) and 503 (keys or store unavailable); a permission 403; a body 413 and
    422; a path, query or header parameter 422. And nothing is left as FastAPI's default
    422 shape, which the API never serves."""
    checked = 0
    for path, route in _routes():
        expected = set()
        if _depends_on(route, get_principal.__qualname__):
            expected |= {"401", "429", "503"}
        if _depends_on(route, "require.<locals>.check"):
            expected.add("403")
        if route.body_field is not None:
            expected |= {"413", "422"}
        dependant = route.dependant
        if dependant.path_params or dependant.query_params or dependant.header_params:
            expected.add("422")
        for method in route.methods:
            documented = set(spec["paths"][path][method.lower()]["responses"])
            missing = expected - documented
            assert not missing, f"{method} {path}: {sorted(missing)} undocumented"
            checked += 1
    assert checked >= 25
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_error_answers_are_served_as_documented(api: Api, spec: dict[str, Any]) -> None:
    c, op = api.client, api.operator
    # 401 without a key, 403 with a key that may not write, 404 for no such record.
    _documented(spec, "/v1/whoami", "get", c.get("/v1/whoami"))
    _documented(spec, "/v1/snapshot", "put", c.put("/v1/snapshot", json={}, headers=api.viewer))
    _documented(spec, "/v1/plans/{plan_id}", "get", c.get("/v1/plans/nope", headers=op))
    _documented(spec, "/v1/ruleset", "get", c.get("/v1/ruleset", headers=op))
    # 422: the request's own fields, and a document inside it (the engine's paths).
    answer = c.post("/v1/orders", json={"shop": "A", "sku": "S", "quantity": True}, headers=op)
    _documented(spec, "/v1/orders", "post", answer)
    assert answer.json()["detail"][0]["path"] == "body.quantity"
    bad_rule = {"rules": [{"id": "r-x", "type": "safety_stock", "quantity": -1}]}
    answer = c.put("/v1/ruleset", json=bad_rule, headers=op)
    _documented(spec, "/v1/ruleset", "put", answer)
    assert answer.json()["detail"][0]["path"].startswith("body.rules[0] (id r-x).quantity")
    answer = c.post("/v1/ruleset/validate", content=b"[", headers=op)
    _documented(spec, "/v1/ruleset/validate", "post", answer)
    # A forced solver that cannot take the request is a 422 naming the solver field.
    answer = c.post("/v1/rank", json={"shelf": EXAMPLE_SHELF, "solver": "sort"}, headers=op)
    _documented(spec, "/v1/rank", "post", answer)
    assert answer.status_code == 422 and answer.json()["detail"]["field"] == "solver"
    # 413 for a body above the limit.
    answer = c.put("/v1/ruleset", content=b"{" + b" " * 100_000 + b"}", headers=op)
    assert answer.status_code == 413
    _documented(spec, "/v1/ruleset", "put", answer)
    # 409: a stale stock version, and an order for more than is published.
    snapshot = {**snapshot_data(pools={"S": 10}), "tenant": TENANT}
    version = c.put("/v1/snapshot", json=snapshot, headers=op).json()["stock_version"]
    patch = {"version": version + 7, "stock": [{"sku": "S", "warehouse": "W1", "on_hand": 3}]}
    answer = c.patch("/v1/snapshot/stock", json=patch, headers=op)
    assert answer.status_code == 409
    _documented(spec, "/v1/snapshot/stock", "patch", answer)
    assert c.put("/v1/ruleset", json={"rules": []}, headers=op).status_code == 200
    plan = c.post("/v1/plans", json={"run": "now"}, headers=op)
    _documented(spec, "/v1/plans", "post", plan)
    plan_id = plan.json()["plan_id"]
    published = c.post(f"/v1/plans/{plan_id}/publish", headers={**op, "Idempotency-Key": "k1"})
    _documented(spec, "/v1/plans/{plan_id}/publish", "post", published)
    order = {"shop": "A", "sku": "S", "quantity": 1_000}
    answer = c.post("/v1/orders", json=order, headers=op)
    assert answer.status_code == 409
    _documented(spec, "/v1/orders", "post", answer)


def test_key_and_store_failures_are_served_as_documented(
    spec: dict[str, Any], tmp_path: Path
) -> None:
    # 429 when a key is over its rate limit.
    keys = InMemoryKeyRepository()
    headers = {"Authorization": f"Bearer {keys.create(TENANT, 'operator')[0]}"}
    with TestClient(_app(Settings(rate_limit_per_s=1, rate_limit_burst=1), keys)) as client:
        answers = [client.get("/v1/mode", headers=headers) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 429]
    _documented(spec, "/v1/mode", "get", answers[1])
    # 503 on every keyed route when the key file cannot be used.
    broken = tmp_path / "keys.json"
    broken.write_text("{")
    app = create_app(Settings(keys_file=broken), stores=StoreRegistry())
    with TestClient(app) as client:
        answer = client.get("/v1/whoami", headers=headers)
    assert answer.status_code == 503
    _documented(spec, "/v1/whoami", "get", answer)


def test_health_and_metrics_are_served_as_documented(api: Api, spec: dict[str, Any]) -> None:
    for path in ("/healthz", "/readyz", "/metrics"):
        _documented(spec, path, "get", api.client.get(path))
    assert "application/json" not in spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]


def _body_schema(spec: dict[str, Any], operation_id: str) -> dict[str, Any]:
    for _, _, op in _operations(spec):
        if op.get("operationId") == operation_id:
            schema: dict[str, Any] = op["requestBody"]["content"]["application/json"]["schema"]
            return schema
    raise AssertionError(f"no operation {operation_id}")


def _without_nulls(schema: Any) -> Any:
    # FastAPI writes the document without nulls (`"default": null` and null inside a
    # default object alike); they mean "none given" there as in the engine's schema.
    if isinstance(schema, list):
        return [_without_nulls(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    return {k: _without_nulls(v) for k, v in schema.items() if v is not None}


def _engine_schema(model: type[BaseModel]) -> Any:
    """The model's JSON schema as the engine has it, its parts inlined."""
    schema = model.model_json_schema()
    return _without_nulls(_resolve(schema, schema.get("$defs", {})))


@pytest.mark.parametrize(
    ("operation_id", "model"),
    [
        ("put-snapshot", Snapshot),
        ("put-ruleset", Ruleset),
        ("validate-ruleset", Ruleset),
        ("run-scenario", ScenarioRequest),
    ],
)
def test_document_bodies_have_the_engine_models_schema(
    spec: dict[str, Any], operation_id: str, model: type[BaseModel]
) -> None:
    components = spec["components"]["schemas"]
    body = _resolve(_body_schema(spec, operation_id), components)
    body.pop("examples")
    assert body == _engine_schema(model)


def test_documents_inside_bodies_have_the_engine_models_schema(spec: dict[str, Any]) -> None:
    components = spec["components"]["schemas"]

    def field(model: str, name: str) -> Any:
        """The field's schema without what the field adds (title, description, null)."""
        schema = _resolve(components[model]["properties"][name], components)
        nullable = schema.get("anyOf", [])
        schema = next((s for s in nullable if s != {"type": "null"}), schema)
        return {k: v for k, v in schema.items() if k not in ("title", "description")}

    def engine(model: type[BaseModel]) -> Any:
        return {k: v for k, v in _engine_schema(model).items() if k != "title"}

    assert field("CheckRequest", "snapshot") == engine(Snapshot)
    assert field("CheckRequest", "plan") == engine(Plan)
    assert field("ShelfFromPlan", "plan") == engine(Plan)
    assert field("SelectFromPlan", "snapshot") == engine(Snapshot)
    assert field("RankRequest", "shelf") == engine(ShelfInput)
    assert field("SelectRequest", "selection") == engine(SelectionInput)
    assert field("StockPatch", "stock")["items"] == _engine_schema(StockRow)


def test_the_scenario_body_is_the_engine_scenario_without_base_files() -> None:
    service, engine = _engine_schema(ScenarioRequest), _engine_schema(Scenario)
    assert service["properties"]["base"]["properties"] == {
        "mode": engine["properties"]["base"]["properties"]["mode"]
    }
    for schema in (service, engine):
        for key in ("title", "description"):
            schema.pop(key, None)
        del schema["properties"]["base"]
    assert service == engine
