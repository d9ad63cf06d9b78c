"""/v1/listings and the stock push of a publish, over a real app: its catalog on a
database of each backend (a SQLite file, a PostgreSQL database of its own), its local
job pool running the jobs, and two sandbox marketplaces on loopback - a quick one, and
a slow one (a review of some seconds) that shop tm-b2 calls, so a job can be caught
running. What a client sees: a dry run, a job followed to the end, its items, cancel,
resume, read-back, a brand viewer's cut, the fields a bad request names, and a publish
that pushes its stock once however often it is repeated."""

from __future__ import annotations

import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import jsonschema
import pytest
import yaml

from api.app import create_app
from engine.access.repository import InMemoryKeyRepository
from engine.core.settings import Settings
from engine.db.connect import connect
from engine.listing.jobstore import ListingStore, NewItem
from engine.listing.sandbox import SandboxConfig
from engine.listing.sandbox.config import Limit, Review
from engine.services.catalog import CatalogHandle
from tests.db.databases import BACKENDS, blank_database
from tests.listing.conftest import SHOP_SETTINGS, connect_shop, running_shoe
from tests.listing.sandbox import running_sandbox

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's httpx2 notice, as in tests/api
    from fastapi.testclient import TestClient

Doc = dict[str, Any]
TENANT = "acme"
ENDED = ("finished", "cancelled", "interrupted")
# The slow sandbox's review: long enough to cancel a job in it, short enough to wait for.
REVIEW_S = 4.0
ROOMY = {p: {"*": Limit(per_second=1000)} for p in ("tmall", "jd")}
SHOPS = [
    {"id": "tm-b1", "brand": "b1", "platform": "tmall", "settings": SHOP_SETTINGS},
    {"id": "jd-b1", "brand": "b1", "platform": "jd", "settings": SHOP_SETTINGS},
    {"id": "tm-b2", "brand": "b2", "platform": "tmall", "settings": SHOP_SETTINGS},
]


def _products() -> list[Doc]:
    """b1: P1, ready everywhere, and P2, which lacks a material the schemas require;
    b2: Q1, ready."""
    broken = running_shoe("P2")
    attributes = {k: v for k, v in broken.attributes.items() if k != "材质"}
    q1 = running_shoe("Q1").model_copy(update={"brand": "b2"})
    made = [running_shoe("P1"), broken.model_copy(update={"attributes": attributes}), q1]
    return [p.body() for p in made]


@dataclass
class World:
    client: TestClient
    spec: Doc
    database: str
    root: str  # the quick sandbox
    operator: dict[str, str]
    viewer: dict[str, str]  # a brand viewer of b1
    viewer_b2: dict[str, str]

    def create(self, body: Doc, headers: dict[str, str] | None = None) -> Any:
        return self.client.post("/v1/listings", json=body, headers=headers or self.operator)

    def get(self, path: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
        return self.client.get(
            f"/v1/listings{path}", params=params, headers=headers or self.operator
        )

    def wait(self, listing_id: str, until: tuple[str, ...] = ENDED, timeout: float = 30) -> Doc:
        """The listing once its status is one of `until`."""
        deadline = time.monotonic() + timeout
        while True:
            view: Doc = self.get(f"/{listing_id}").json()
            if view["status"] in until:
                return view
            assert time.monotonic() < deadline, f"listing still {view['status']}: {view}"
            time.sleep(0.1)

    def documented(self, path: str, method: str, response: Any) -> Any:
        """The answer's body, checked against what the OpenAPI document says of it."""
        op = self.spec["paths"][path][method]
        status = str(response.status_code)
        assert status in op["responses"], f"{method} {path}: {status} undocumented"
        schema = op["responses"][status]["content"]["application/json"]["schema"]
        body = response.json()
        jsonschema.validate(body, {**schema, "components": self.spec["components"]})
        return body


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("listings")
    with ExitStack() as stack:
        url = stack.enter_context(blank_database(request.param, folder))
        quick = SandboxConfig(review=Review(polls=0), limits=ROOMY)
        root = stack.enter_context(running_sandbox(quick))
        slow = SandboxConfig(review=Review(seconds=REVIEW_S), limits=ROOMY)
        slow_root = stack.enter_context(running_sandbox(slow))
        account = {"app_key": "sandbox-app", "app_secret": "sandbox-secret"}
        accounts = {
            "accounts": {
                "quick": {"base_url": f"{root}/{{platform}}", **account},
                "slow": {"base_url": f"{slow_root}/{{platform}}", **account},
            },
            "shops": {"tm-b2": {"account": "slow"}},
            "default_account": "quick",
        }
        file = folder / "marketplaces.yaml"
        file.write_text(yaml.safe_dump(accounts))
        keys = InMemoryKeyRepository()
        handle = CatalogHandle(url, migrate_now=True)
        stack.callback(handle.close)
        # A resumed run waits for the sandbox's late calls (2 s), not a platform's.
        settings = Settings(marketplaces_file=file, listing_settle_s=2.5)
        app = create_app(settings, keys=keys, catalog=handle)
        client = stack.enter_context(TestClient(app))
        world = World(
            client,
            app.openapi(),
            url,
            root,
            _bearer(keys.create(TENANT, "operator")[0]),
            _bearer(keys.create(TENANT, "brand_viewer", "b1")[0]),
            _bearer(keys.create(TENANT, "brand_viewer", "b2")[0]),
        )
        op = world.operator
        client.put("/v1/catalog/shops", json={"shops": SHOPS}, headers=op).raise_for_status()
        products = {"products": _products()}
        client.post("/v1/catalog/products", json=products, headers=op).raise_for_status()
        yield world


@pytest.fixture(scope="module")
def listed(world: World) -> tuple[Doc, Doc]:
    """Brand b1's products listed on its shops by one job: the 202's body and the
    listing at its end."""
    response = world.create({"kind": "publish", "brand": "b1"})
    started = world.documented("/v1/listings", "post", response)
    assert response.status_code == 202, response.text
    assert response.headers["Location"] == f"/v1/listings/{started['listing']['id']}"
    return started, world.wait(started["listing"]["id"])


# --- dry runs and bad requests -----------------------------------------------------------


def test_a_dry_run_shows_every_payload_and_refusal_and_stores_nothing(world: World) -> None:
    before = world.get("").json()
    response = world.create({"kind": "publish", "brand": "b1", "dry_run": True})
    assert response.status_code == 200, response.text
    preview = world.documented("/v1/listings", "post", response)
    assert (preview["items"], preview["refused"]) == (4, 2)
    assert preview["shops"] == ["jd-b1", "tm-b1"]
    entries = {(e["shop"], e["outer_id"]): e for e in preview["entries"]}
    ok = entries["tm-b1", "P1"]
    assert not ok["refused"] and ok["intent"]["outer_id"] == "P1"
    for shop in ("tm-b1", "jd-b1"):
        refused = entries[shop, "P2"]
        assert refused["refused"] and refused["field"] == "props.材质"
        assert "required field is missing" in refused["reason"]
    # Nothing stored, nothing sent.
    assert world.get("").json() == before
    assert connect_shop(world.root, "tmall", "tm-b1").get("P2") is None
    # A price update: the SKU's new price, per shop and product.
    prices = [{"shop": "jd-b1", "sku": "P1-40", "price": "299.00"}]
    answer = world.create({"kind": "price", "brand": "b1", "prices": prices, "dry_run": True})
    assert answer.status_code == 200, answer.text
    [entry] = answer.json()["entries"]
    assert entry["intent"] == {"prices": {"P1-40": "299.00"}} and not entry["refused"]


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        ({"kind": "publish", "brand": "b9"}, ["body.brand"]),
        ({"kind": "publish", "brand": "b1", "shops": ["tm-b1", "tm-b2"]}, ["body.shops[1]"]),
        ({"kind": "publish", "brand": "b1", "skus": ["NOPE-1"]}, ["body.skus[0]"]),
        ({"kind": "publish", "brand": "b1", "shops": []}, ["body.shops"]),
        ({"kind": "stock", "brand": "b1"}, ["body.kind"]),
        ({"kind": "price", "brand": "b1"}, ["body.prices"]),
        (
            {"kind": "price", "brand": "b1", "prices": [{}]},
            ["body.prices[0].shop", "body.prices[0].sku", "body.prices[0].price"],
        ),
        (
            {
                "kind": "price",
                "brand": "b1",
                "prices": [
                    {"shop": "tm-b2", "sku": "P1-40", "price": "1.00"},
                    {"shop": "tm-b1", "sku": "Q1-40", "price": "1.00"},
                ],
            },
            ["body.prices[0].shop", "body.prices[1].sku"],
        ),
        (
            {
                "kind": "price",
                "brand": "b1",
                "shops": ["tm-b1"],
                "prices": [
                    {"shop": "tm-b1", "sku": "P1-40", "price": "1.00"},
                    {"shop": "tm-b1", "sku": "P1-40", "price": "2.00"},
                ],
            },
            ["body.shops", "body.prices[1]"],
        ),
        (
            {
                "kind": "publish",
                "brand": "b1",
                "prices": [{"shop": "tm-b1", "sku": "P1-40", "price": "1"}],
            },
            ["body.prices"],
        ),
    ],
)
def test_a_bad_request_names_each_field_at_fault(world: World, body: Doc, paths: list[str]) -> None:
    response = world.create(body)
    assert response.status_code == 422, response.text
    detail = world.documented("/v1/listings", "post", response)["detail"]
    assert [issue["path"] for issue in detail] == paths, detail


def test_an_unknown_listing_is_404_on_every_route(world: World) -> None:
    c, op = world.client, world.operator
    answers = {
        "/v1/listings/{listing_id}": ("get", c.get("/v1/listings/nope", headers=op)),
        "/v1/listings/{listing_id}/items": ("get", c.get("/v1/listings/nope/items", headers=op)),
        "/v1/listings/{listing_id}/cancel": (
            "post",
            c.post("/v1/listings/nope/cancel", headers=op),
        ),
        "/v1/listings/{listing_id}/resume": (
            "post",
            c.post("/v1/listings/nope/resume", headers=op),
        ),
        "/v1/listings/{listing_id}/readback": (
            "post",
            c.post("/v1/listings/nope/readback", headers=op),
        ),
    }
    for path, (method, response) in answers.items():
        assert response.status_code == 404, (path, response.text)
        detail = world.documented(path, method, response)["detail"]
        assert detail["key"] == "nope" and detail["what"] == "listing job"


# --- a job to the end ----------------------------------------------------------------------


def test_a_job_runs_on_the_job_pool_until_every_item_is_done(
    world: World, listed: tuple[Doc, Doc]
) -> None:
    started, view = listed
    assert started["listing"]["status"] == "queued" and started["job"]["kind"] == "listing"
    listing_id = view["id"]
    assert view["status"] == "finished", view
    assert view["progress"]["done"] == view["progress"]["total"] == 4
    assert view["progress"]["shops"]["tm-b1"]["states"] == {"on_sale": 1, "refused": 1}
    assert view["summary"]["readback"]["accuracy"] == 1.0
    world.documented("/v1/listings/{listing_id}", "get", world.get(f"/{listing_id}"))
    # The items: P1 on sale on both shops, P2 refused (never sent) with its field.
    page = world.documented(
        "/v1/listings/{listing_id}/items", "get", world.get(f"/{listing_id}/items")
    )
    assert page["total"] == 4
    states = {(i["shop"], i["outer_id"]): i["state"] for i in page["items"]}
    assert states == {
        ("jd-b1", "P1"): "on_sale",
        ("jd-b1", "P2"): "refused",
        ("tm-b1", "P1"): "on_sale",
        ("tm-b1", "P2"): "refused",
    }
    refused = world.get(f"/{listing_id}/items", state="refused", shop="tm-b1").json()
    assert refused["total"] == 1 and refused["items"][0]["field"] == "props.材质"
    assert refused["items"][0]["attempts"] == 0 and refused["items"][0]["intent"] is None
    paged = world.get(f"/{listing_id}/items", offset=1, limit=2, with_intent=True).json()
    assert [i["outer_id"] for i in paged["items"]] == ["P2", "P1"]
    assert paged["items"][1]["intent"]["outer_id"] == "P1"
    assert world.get(f"/{listing_id}/items", state="sold").status_code == 422
    for shop in ("tm-b1", "jd-b1"):
        market = connect_shop(world.root, "tmall" if shop == "tm-b1" else "jd", shop)
        assert market.get("P1") is not None and market.get("P2") is None
    # The queue's job names the listing it ran.
    job_id = started["job"]["id"]
    deadline = time.monotonic() + 10
    while (job := world.client.get(f"/v1/jobs/{job_id}", headers=world.operator).json())[
        "status"
    ] != "finished":
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
    assert job["result"]["url"] == f"/v1/listings/{listing_id}"
    # A read-back now; a finished job cannot be cancelled.
    response = world.client.post(f"/v1/listings/{listing_id}/readback", headers=world.operator)
    readback = world.documented("/v1/listings/{listing_id}/readback", "post", response)
    assert (readback["items"], readback["accuracy"], readback["unread"]) == (2, 1.0, {})
    cancel = world.client.post(f"/v1/listings/{listing_id}/cancel", headers=world.operator)
    assert cancel.status_code == 409
    detail = world.documented("/v1/listings/{listing_id}/cancel", "post", cancel)["detail"]
    assert (detail["job"], detail["status"]) == (listing_id, "finished")


def test_a_running_job_is_cancelled_then_resumed_and_a_dead_run_is_forced(world: World) -> None:
    c, op = world.client, world.operator
    started = world.create({"kind": "publish", "brand": "b2"})
    assert started.status_code == 202, started.text
    listing_id = started.json()["listing"]["id"]
    path = f"/v1/listings/{listing_id}"
    # Caught in the slow sandbox's review.
    deadline = time.monotonic() + 20
    while True:
        view = world.get(f"/{listing_id}").json()
        states = view["progress"]["shops"]["tm-b2"]["states"]
        if view["status"] == "running" and {"accepted", "in_review"} & set(states):
            break
        assert time.monotonic() < deadline, view
        time.sleep(0.1)
    busy = c.post(f"{path}/resume", headers=op)
    assert busy.status_code == 409
    detail = world.documented("/v1/listings/{listing_id}/resume", "post", busy)["detail"]
    assert detail["status"] == "running" and "force" in detail["message"]
    cancel = c.post(f"{path}/cancel", headers=op)
    assert cancel.status_code == 200 and cancel.json()["cancel_requested"], cancel.text
    view = world.wait(listing_id)
    assert view["status"] == "cancelled", view
    assert set(view["progress"]["shops"]["tm-b2"]["states"]) <= {"accepted", "in_review"}
    # Resumed: the item already sent is followed to the end, not sent again.
    resumed = c.post(f"{path}/resume", headers=op)
    assert resumed.status_code == 202, resumed.text
    assert resumed.headers["Location"] == path
    world.documented("/v1/listings/{listing_id}/resume", "post", resumed)
    view = world.wait(listing_id, ("finished",))
    assert view["runs"] == 2 and view["progress"]["shops"]["tm-b2"]["states"] == {"on_sale": 1}
    # A run that died leaves "running": a resume then needs force.
    store = ListingStore(connect(world.database))
    try:
        store.set_job(TENANT, listing_id, status="running")
    finally:
        store.dispose()
    assert c.post(f"{path}/resume", json={}, headers=op).status_code == 409
    forced = c.post(f"{path}/resume", json={"force": True}, headers=op)
    assert forced.status_code == 202, forced.text
    deadline = time.monotonic() + 20
    while (view := world.get(f"/{listing_id}").json())["runs"] < 3 or view["status"] != "finished":
        assert time.monotonic() < deadline, view
        time.sleep(0.1)


def test_a_brand_viewer_reads_its_brands_jobs_only(world: World, listed: tuple[Doc, Doc]) -> None:
    mine = listed[1]["id"]
    # A b2 job, stored without a run: reading it needs no queue.
    other = f"b2-{uuid.uuid4().hex}"
    store = ListingStore(connect(world.database))
    try:
        item = NewItem("tm-b2", "Q1", "tmall", {})
        store.create_job(
            TENANT, other, kind="publish", brand="b2", created_by="t", options={}, items=[item]
        )
    finally:
        store.dispose()
    seen = world.get("", world.viewer).json()
    assert mine in {j["id"] for j in seen} and {j["brand"] for j in seen} == {"b1"}
    assert world.get(f"/{mine}", world.viewer).status_code == 200
    assert world.get(f"/{mine}/items", world.viewer).status_code == 200
    for path, suffix in ((f"/{other}", ""), (f"/{other}/items", "/items")):
        refused = world.get(path, world.viewer)
        assert refused.status_code == 403
        detail = world.documented(f"/v1/listings/{{listing_id}}{suffix}", "get", refused)["detail"]
        assert detail["brand"] == "b2"
    assert world.get("", world.viewer, brand="b2").status_code == 403
    assert world.get(f"/{other}", world.viewer_b2).status_code == 200
    # The queue's job of a listing counts every shop: the whole tenant's readers only.
    queue_job = listed[0]["job"]["id"]
    assert world.client.get(f"/v1/jobs/{queue_job}", headers=world.viewer).status_code == 403
    assert world.client.get(f"/v1/jobs/{queue_job}", headers=world.operator).status_code == 200
    # Writing is the operators'.
    assert world.create({"kind": "publish", "brand": "b1"}, world.viewer).status_code == 403
    assert world.client.post(f"/v1/listings/{mine}/cancel", headers=world.viewer).status_code == 403


# --- a publish that pushes its stock -------------------------------------------------------


def _snapshot() -> Doc:
    """b1's shops and P1's SKUs as the catalog has them, and X-1, which it has not."""
    skus = ("P1-40", "P1-41", "X-1")
    return {
        "tenant": TENANT,
        "as_of": "2026-11-11T00:00:00+08:00",
        "brands": [{"id": "b1", "name": "Brand One"}],
        "warehouses": [{"id": "wh", "kind": "sellable"}],
        "shops": [
            {"id": "tm-b1", "brand": "b1", "platform": "tmall", "priority": 1},
            {"id": "jd-b1", "brand": "b1", "platform": "jd", "priority": 2},
        ],
        "skus": [{"id": sku, "brand": "b1", "price": "399.00"} for sku in skus],
        "stock": [
            {"sku": sku, "warehouse": "wh", "on_hand": units}
            for sku, units in zip(skus, (30, 12, 8), strict=True)
        ],
    }


RULES = {
    "rules": [
        {
            "id": "r-split",
            "type": "percentage",
            "scope": {"brand": "b1"},
            "shares": {"tm-b1": 0.5, "jd-b1": 0.5},
        }
    ]
}


def test_a_publish_pushes_its_stock_once_however_often_it_is_repeated(
    world: World, listed: tuple[Doc, Doc]
) -> None:
    c, op = world.client, world.operator
    assert c.put("/v1/snapshot", json=_snapshot(), headers=op).status_code == 200
    assert c.put("/v1/ruleset", json=RULES, headers=op).status_code == 200
    made = c.post("/v1/plans", json={"run": "now"}, headers=op)
    assert made.status_code == 200, made.text
    plan = made.json()["plan"]
    publish = f"/v1/plans/{plan['plan_id']}/publish"
    key = {"Idempotency-Key": "k-push", **op}
    first = c.post(publish, json={"push": True}, headers=key)
    assert first.status_code == 200, first.text
    push = world.documented("/v1/plans/{plan_id}/publish", "post", first)["push"]
    # One update per shop and product; X-1 held on both shops, named.
    assert (push["updates"], push["held"]) == (2, 2), push
    assert push["held_by_reason"] == {"SKU not in the catalog": 2}
    assert push["url"] == f"/v1/listings/{push['listing_id']}"
    view = world.wait(push["listing_id"])
    assert view["kind"] == "stock" and view["brand"] == "*" and view["status"] == "finished"
    assert view["progress"]["shops"] == {
        shop: {"done": 1, "total": 1, "states": {"updated": 1}} for shop in ("jd-b1", "tm-b1")
    }
    # The shops hold the plan's units, read back from the sandbox.
    for shop, platform in (("tm-b1", "tmall"), ("jd-b1", "jd")):
        wanted = {
            a["sku"]: a["quantity"] + a["shared"]
            for a in plan["allocations"]
            if a["shop"] == shop and a["sku"] != "X-1"
        }
        item = connect_shop(world.root, platform, shop).get("P1")
        assert item is not None and item.stock == wanted, (shop, item)
    # Repeated: the same answer, and no second push.
    pushes = [j for j in world.get("", limit=1000).json() if j["kind"] == "stock"]
    again = c.post(publish, json={"push": True}, headers=key)
    assert again.status_code == 200 and again.json() == first.json()
    assert [j for j in world.get("", limit=1000).json() if j["kind"] == "stock"] == pushes
    # The key stands for a publish with a push: without one it is another request.
    assert c.post(publish, json={}, headers=key).status_code == 409
    # Published again under a new key: every shop holds the plan's units already.
    key2 = {"Idempotency-Key": "k-push-again", **op}
    idle = c.post(publish, json={"push": True}, headers=key2)
    assert idle.status_code == 200, idle.text
    nothing = idle.json()["push"]
    assert nothing["listing_id"] is None and nothing["updates"] == 0
    assert nothing["held_by_reason"] == {"SKU not in the catalog": 2, "unchanged": 4}
    # Every brand's push: not a brand viewer's to read.
    assert world.get(f"/{push['listing_id']}", world.viewer).status_code == 403
