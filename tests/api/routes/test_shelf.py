"""POST /v1/rank, /v1/select and /v1/check: on the demo data, and every client error a
422 (or 409) naming the field - never a 500; only for a key that may read."""

from __future__ import annotations

import json
import time
from functools import lru_cache
from typing import Any

from fastapi.testclient import TestClient

from api.schemas.shelf import EXAMPLE_SELECTION, EXAMPLE_SHELF, EXAMPLE_SNAPSHOT
from engine.access.repository import InMemoryKeyRepository
from tests.shelf.demo import SNAPSHOT, demo_plan
from tests.shelf.test_ranking import seed_shelf


@lru_cache(maxsize=1)
def demo_documents() -> tuple[dict[str, Any], dict[str, Any]]:
    snapshot = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    return snapshot, json.loads(demo_plan().read_text(encoding="utf-8"))


def test_the_shelf_routes_need_a_key_that_may_read(
    client: TestClient, keys: InMemoryKeyRepository
) -> None:
    bodies = {
        "/v1/rank": {"shelf": seed_shelf()},
        "/v1/select": {"selection": EXAMPLE_SELECTION},
        "/v1/check": {"snapshot": _snapshot()},
    }
    anonymous = TestClient(client.app)
    admin = {"Authorization": f"Bearer {keys.create('acme', 'admin')[0]}"}
    operator = {"Authorization": f"Bearer {keys.create('acme', 'operator')[0]}"}
    for path, body in bodies.items():
        refused = anonymous.post(path, json=body)
        assert refused.status_code == 401, path
        assert refused.json()["detail"]["header"] == "Authorization"
        assert anonymous.post(path, json=body, headers=admin).status_code == 403, path
        assert anonymous.post(path, json=body, headers=operator).status_code == 200, path
        assert client.post(path, json=body).status_code == 200, path  # a brand viewer


def test_rank_a_shelf_document(client: TestClient) -> None:
    response = client.post("/v1/rank", json={"shelf": seed_shelf()})
    assert response.status_code == 200, response.text
    moves = {m["product"]: m for m in response.json()["moves"]}
    assert moves["BEST"]["slot"] == 1 and moves["TOP"]["move"] == "down"
    assert moves["TOP"]["reason"].startswith("3 days of cover, no restock: down")
    forced = client.post("/v1/rank", json={"shelf": seed_shelf(), "solver": "mip"})
    assert forced.json()["solver"] == "mip"
    assert forced.json()["objective"] == response.json()["objective"]


def test_rank_select_and_check_on_the_demo(client: TestClient) -> None:
    snapshot, plan = demo_documents()
    source = {"snapshot": snapshot, "plan": plan, "shop": "tm-b1"}
    rules = {"category_limits": [{"max": 3, "top": 10}]}
    ranked = client.post("/v1/rank", json={"from_plan": {**source, "slots": 15, "rules": rules}})
    assert ranked.status_code == 200, ranked.text
    body = ranked.json()
    assert body["solver"] == "mip" and body["slots"] == 15
    selected = client.post("/v1/select", json={"from_plan": {**source, "max_per_category": 2}})
    assert selected.status_code == 200, selected.text
    assert len(selected.json()["picks"]) == 10
    checked = client.post("/v1/check", json={"snapshot": snapshot, "plan": plan})
    assert checked.status_code == 200, checked.text
    counts = checked.json()["counts"]
    assert set(counts) == {"oversell_risk", "stranded_stock", "drift", "dead_listing"}
    assert sum(counts.values()) == len(checked.json()["warnings"])


def test_select_a_selection_document(client: TestClient) -> None:
    document = {
        "shop": "jd",
        "listing_limit": 1,
        "candidates": [
            {"id": "A", "price": "10.00", "stock": 100, "velocity_elsewhere": {"tm": 2.0}},
            {"id": "B", "price": "10.00", "stock": 100, "velocity_elsewhere": {"tm": 3.0}},
        ],
    }
    response = client.post("/v1/select", json={"selection": document})
    assert response.status_code == 200, response.text
    assert [p["product"] for p in response.json()["picks"]] == ["B"]


def _paths(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    return [d["path"] for d in response.json()["detail"]]


def test_client_errors_name_the_field(client: TestClient) -> None:
    shelf = seed_shelf()
    shelf["products"][2]["velocity"] = "fast"
    assert _paths(client.post("/v1/rank", json={"shelf": shelf})) == [
        "body.shelf.products[2].velocity"
    ]
    assert _paths(client.post("/v1/rank", json={"shelf": seed_shelf(pins={"X": 1})})) == [
        "body.shelf.rules.pins.X"
    ]
    assert _paths(client.post("/v1/rank", json={"shelf": seed_shelf(), "colour": 1})) == [
        "body.colour"
    ]
    assert _paths(client.post("/v1/rank", json={})) == ["body"]
    assert _paths(client.post("/v1/rank", json={"shelf": seed_shelf(), "solver": "magic"})) == [
        "body.solver"
    ]
    # Found by schemathesis: a forced solver that cannot take the rules is the client's
    # choice (422 naming `solver`), not a server failure.
    limited = seed_shelf()
    limited["rules"] = {"category_limits": [{"max": 2, "top": 2}]}
    forced = client.post("/v1/rank", json={"shelf": limited, "solver": "sort"})
    assert forced.status_code == 422 and forced.json()["detail"]["field"] == "solver"
    broken = client.post(
        "/v1/check", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 422
    snapshot = {**_snapshot(), "listed": [{"sku": "B1-0001", "shop": "nope", "quantity": 1}]}
    assert _paths(client.post("/v1/check", json={"snapshot": snapshot})) == [
        "body.snapshot.listed[0].shop"
    ]
    plan = client.post("/v1/check", json={"snapshot": _snapshot(), "plan": {"plan_id": 1}})
    assert "body.plan.plan_id" in _paths(plan)


def test_conflicting_rules_are_409(client: TestClient) -> None:
    response = client.post(
        "/v1/rank", json={"shelf": seed_shelf(min_cover={"days": 999, "top": 1})}
    )
    assert response.status_code == 409
    assert response.json()["detail"][0]["rules"] == ["min_cover"]


def test_openapi_has_readable_ids_and_examples(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    ids = {path: ops["post"]["operationId"] for path, ops in spec["paths"].items() if "post" in ops}
    assert {
        "/v1/rank": "rank-shelf",
        "/v1/select": "select-products",
        "/v1/check": "check-stock",
    }.items() <= ids.items()
    schemas = spec["components"]["schemas"]
    assert schemas["RankRequest"]["examples"] == [{"shelf": EXAMPLE_SHELF}]
    assert "examples" in schemas["SelectRequest"] and "examples" in schemas["CheckRequest"]
    example = client.post("/v1/check", json=schemas["CheckRequest"]["examples"][0])
    assert example.status_code == 200 and example.json()["warnings"] == []


def _snapshot() -> dict[str, Any]:
    return json.loads(json.dumps(EXAMPLE_SNAPSHOT))


def _budget_client(**settings: Any) -> TestClient:
    from api.app import create_app
    from engine.core.settings import Settings
    from engine.services.stores import StoreRegistry

    keys = InMemoryKeyRepository()
    key = keys.create("acme", "brand_viewer", "b1")[0]
    app = create_app(Settings(**settings), keys=keys, stores=StoreRegistry())
    return TestClient(app, headers={"Authorization": f"Bearer {key}"})


def _big_shelf(products: int, slots: int) -> dict[str, Any]:
    """Category limits over a long shelf: the case only the mip solver takes."""
    return {
        "shop": "s",
        "slots": slots,
        "products": [
            {
                "id": f"P{i}",
                "velocity": 0.1 + (i * 7919 % 1000) / 50,
                "price": "10.00",
                "stock": i * 31 % 500,
                "category": f"c{i % 20}",
            }
            for i in range(products)
        ],
        "rules": {"category_limits": [{"max": 3, "top": 20}]},
    }


def test_a_shelf_above_the_servers_size_is_refused_up_front() -> None:
    client = _budget_client(shelf_max_cells=10_000)
    refused = client.post("/v1/rank", json={"shelf": _big_shelf(200, 60)})
    assert refused.status_code == 422
    [issue] = refused.json()["detail"]
    assert issue["path"] == "body.shelf"
    assert "200 products x 60 slots = 12,000 cells" in issue["message"]
    assert "limit of 10,000" in issue["message"]
    assert client.post("/v1/rank", json={"shelf": _big_shelf(200, 50)}).status_code == 200


def test_a_ranking_that_runs_out_of_time_is_503_saying_so() -> None:
    client = _budget_client(shelf_time_limit_s=1.0)
    started = time.monotonic()
    response = client.post("/v1/rank", json={"shelf": _big_shelf(1000, 1000), "solver": "mip"})
    elapsed = time.monotonic() - started
    assert response.status_code == 503, response.text[:300]
    detail = response.json()["detail"]
    assert detail["status"] == "time_limit" and "within 1 s" in detail["message"]
    assert elapsed < 10, f"held the worker {elapsed:.1f} s on a 1 s budget"
