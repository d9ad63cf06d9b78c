"""The catalog over HTTP, end to end: an app with its own catalog database (a SQLite file
in tmp_path; the core flow on PostgreSQL too), called with an operator's key and a brand
viewer's. What each promise of the catalog looks like to a client: idempotent imports
with versions and their authors, whole-file imports that name every bad row, restores,
brand cuts, shops that change what a product is checked against, and a database that
does not answer."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from api.app import create_app
from engine.access.repository import InMemoryKeyRepository
from engine.core.settings import Settings
from engine.services.catalog import CatalogHandle
from tests.catalog.files import write_csv
from tests.db.databases import BACKENDS, blank_database, server_url

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's httpx2 notice, as in tests/api
    from fastapi.testclient import TestClient

Doc = dict[str, Any]
DEMO_CSV = Path(__file__).resolve().parents[2] / "scenarios" / "demo" / "catalog.csv"
TM_B1 = {"location.state": "上海", "location.city": "上海", "freight_template_id": "ft-tm-b1"}
JD_B1 = {**TM_B1, "freight_template_id": "ft-jd-b1", "service_mobile": "021-60000000"}
# 31 Chinese characters: 62 wide where Tmall takes 60.
WIDE_TITLE = "轻" * 31


def shoe(spu: str, *skus: str, brand: str = "b1", **fields: Any) -> Doc:
    """A running shoe with every field Tmall and JD ask for (their shop settings apart)."""
    doc: Doc = {
        "brand": brand,
        "spu_code": spu,
        "title": f"Stridewell 轻量缓震跑步鞋 {spu}",
        "category": ["鞋靴", "跑步鞋"],
        "year": 2026,
        "season": "春",
        "description": "轻量透气，详情见图。",
        "images": [f"https://img.example.com/{spu}/1.jpg"],
        "attributes": {
            "品牌名": "Stridewell",
            "产地": "中国",
            "材质": "网布",
            "鞋底材质": "EVA",
            "适用性别": "男",
            "闭合方式": "系带",
            "跑鞋类型": "缓震型",
        },
        "skus": [
            {
                "sku_code": code,
                "barcode": "6901234567892",
                "spec": {"尺码": str(40 + k)},
                "list_price": "399.00",
                "cost": "150.00",
                "weight_g": 350,
                "length_mm": 300,
                "width_mm": 200,
                "height_mm": 120,
            }
            for k, code in enumerate(skus or (f"{spu}-40",))
        ],
    }
    return {**doc, **fields}


@dataclass
class Api:
    """One app on one catalog database, and a key per role of tenant acme."""

    client: TestClient
    operator_id: str
    operator: dict[str, str]
    viewer: dict[str, str]

    def post(self, products: list[Doc], headers: dict[str, str] | None = None) -> Doc:
        response = self.client.post(
            "/v1/catalog/products", json={"products": products}, headers=headers or self.operator
        )
        assert response.status_code == 200, response.text
        body: Doc = response.json()
        return body

    def get(self, path: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
        response = self.client.get(
            f"/v1/catalog{path}", params=params, headers=headers or self.operator
        )
        assert response.status_code == 200, response.text
        return response.json()


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@contextmanager
def serving(url: str) -> Iterator[Api]:
    """The app on the catalog database at `url`, migrated as it opens."""
    keys = InMemoryKeyRepository()
    operator, record = keys.create("acme", "operator")
    viewer, _ = keys.create("acme", "brand_viewer", "b1")
    handle = CatalogHandle(url, migrate_now=True)
    app = create_app(Settings(), keys=keys, catalog=handle)
    try:
        with TestClient(app) as client:
            yield Api(client, record.key_id, _bearer(operator), _bearer(viewer))
    finally:
        handle.close()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with serving(f"sqlite:///{tmp_path / 'catalog.db'}") as app:
        yield app


@pytest.fixture(params=BACKENDS)
def api_on_each_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    with blank_database(request.param, tmp_path) as url, serving(url) as app:
        yield app


def keys_of(page: Doc) -> list[str]:
    return [f"{i['product']['brand']}/{i['product']['spu_code']}" for i in page["items"]]


def detail(response: Any, status: int) -> Any:
    assert response.status_code == status, response.text
    return response.json()["detail"]


# --- imports, versions, restores ---------------------------------------------------------


def test_an_import_twice_is_one_and_a_change_is_a_version_by_its_author(
    api_on_each_backend: Api,
) -> None:
    api = api_on_each_backend
    products = [shoe("P1", "P1-40", "P1-41"), shoe("P2")]
    first = api.post(products)
    assert first["created"] == ["b1/P1", "b1/P2"] and (first["products"], first["skus"]) == (2, 3)
    v1 = api.get("/products/b1/P1")
    again = api.post(products)
    assert again["unchanged"] == ["b1/P1", "b1/P2"] and again["created"] == again["updated"] == []
    assert [v["version"] for v in api.get("/products/b1/P1/history")] == [1]

    renamed = copy.deepcopy(products)
    renamed[0]["title"] = "Stridewell 竞速跑步鞋"
    changed = api.post(renamed)
    assert (changed["updated"], changed["unchanged"]) == (["b1/P1"], ["b1/P2"])
    history = api.get("/products/b1/P1/history")
    assert [(v["version"], v["changes"]) for v in history] == [(2, ["title"]), (1, ["created"])]
    assert {v["author"] for v in history} == {api.operator_id}
    assert api.get("/products/b1/P1")["product"]["title"] == "Stridewell 竞速跑步鞋"
    assert api.get("/products/b1/P1", version=1) == v1

    restored = api.client.post(
        "/v1/catalog/products/b1/P1/restore", json={"version": 1}, headers=api.operator
    )
    assert restored.status_code == 200, restored.text
    assert restored.json()["version"] == 3 and restored.json()["product"] == v1["product"]
    assert api.get("/products/b1/P1")["product"] == v1["product"]
    newest = api.get("/products/b1/P1/history")[0]
    assert (newest["version"], newest["changes"], newest["source"]) == (
        3,
        ["title"],
        "restore of v1",
    )
    assert newest["author"] == api.operator_id
    # The restore was checked again in the same write: its rows are of version 3.
    rows = api.get("/completeness/products", brand="b1")["items"]
    assert {r["product_version"] for r in rows if r["spu_code"] == "P1"} == {3}
    assert {r["product_version"] for r in rows if r["spu_code"] == "P2"} == {1}


def test_bad_products_are_named_by_their_place_in_the_body(api: Api) -> None:
    def refused(*products: Doc) -> list[tuple[str, str]]:
        sent = api.client.post(
            "/v1/catalog/products", json={"products": list(products)}, headers=api.operator
        )
        return [(i["path"], i["message"]) for i in detail(sent, 422)]

    invalid = refused(shoe("P1"), shoe("P2", title=5, skus=[]), {"brand": "b1", "spu_code": "P3"})
    assert [path for path, _ in invalid] == [
        "body.products[1].title",
        "body.products[1].skus",
        "body.products[2].title",
        "body.products[2].category",
        "body.products[2].skus",
    ]
    [(path, message)] = refused(shoe("P1"), shoe("P1"))
    assert path == "body.products[1]" and "products[0]" in message
    [(path, message)] = refused(shoe("P1", "X-1"), shoe("P2", "P2-40", "X-1"))
    assert path == "body.products[1].skus[1].sku_code" and "'X-1'" in message
    assert api.get("/products")["total"] == 0
    api.post([shoe("P1", "X-1")])
    [(path, message)] = refused(shoe("P2", "X-1"))
    assert path == "body.products[0].skus[0].sku_code" and "held by product 'P1'" in message


def test_a_catalog_file_imports_and_again_changes_nothing(api: Api) -> None:
    # The demo's own bytes (UTF-8 with a BOM, Chinese headers, 属性: columns), cut short.
    lines = DEMO_CSV.read_bytes().splitlines(keepends=True)[:31]
    spus = {line.split(b",")[1] for line in lines[1:]}
    sent = api.client.post(
        "/v1/catalog/files",
        content=b"".join(lines),
        params={"name": "catalog.csv"},
        headers={**api.operator, "Content-Type": "text/csv"},
    )
    assert sent.status_code == 200, sent.text
    report = sent.json()
    assert report["source"] == "import catalog.csv"
    assert (report["products"], report["skus"], len(report["created"])) == (
        len(spus),
        30,
        len(spus),
    )
    assert api.get("/products", limit=1000)["total"] == len(spus)
    again = api.client.post("/v1/catalog/files", content=b"".join(lines), headers=api.operator)
    assert again.status_code == 200 and len(again.json()["unchanged"]) == len(spus)
    assert again.json()["created"] == again.json()["updated"] == []


def test_a_file_with_bad_rows_names_each_and_imports_nothing(api: Api, tmp_path: Path) -> None:
    header = ["brand", "spu_code", "title", "category", "year", "sku_code", "list_price"]
    rows = [
        ["b1", "P1", "跑步鞋", "鞋靴 > 跑步鞋", "2026", "P1-40", "12,9"],
        ["b1", "P2", "跑步鞋", "鞋靴 > 跑步鞋", "2026", "P2-40", "399.00"],
        ["b1", "P3", "跑步鞋", "鞋靴 > 跑步鞋", "20x6", "P3-40", "399.00"],
        ["b1", "P4", "跑步鞋", "鞋靴 > 跑步鞋", "2026", "", "399.00"],
    ]
    raw = write_csv(tmp_path / "bad.csv", header, rows, encoding="gb18030").read_bytes()
    refused = api.client.post(
        "/v1/catalog/files", content=raw, params={"name": "bad.csv"}, headers=api.operator
    )
    found = [issue["path"] for issue in detail(refused, 422)]
    assert found == [
        "bad.csv.row 2, column 'list_price'",
        "bad.csv.row 4, column 'year'",
        "bad.csv.row 5, column 'sku_code'",
    ]
    assert api.get("/products")["total"] == 0
    assert api.get("/completeness") == {"platforms": [], "blockers": []}


@pytest.mark.parametrize(
    "name", [".", "..", "a\x00b", "目" * 100], ids=["dot", "dotdot", "nul", "300-bytes"]
)
def test_an_upload_name_that_is_no_file_name_is_422(api: Api, name: str) -> None:
    lines = DEMO_CSV.read_bytes().splitlines(keepends=True)[:3]
    refused = api.client.post(
        "/v1/catalog/files", content=b"".join(lines), params={"name": name}, headers=api.operator
    )
    assert [issue["path"] for issue in detail(refused, 422)] == ["query.name"]
    assert api.get("/products")["total"] == 0


def test_products_page_by_brand_then_spu_code(api: Api) -> None:
    codes = [("b2", "Q2"), ("b1", "P3"), ("b2", "Q1"), ("b1", "P1"), ("b1", "P2"), ("b3", "R1")]
    api.post([shoe(spu, brand=brand) for brand, spu in codes])
    everything = sorted(f"{brand}/{spu}" for brand, spu in codes)
    pages = [api.get("/products", limit=4, offset=offset) for offset in (0, 4, 8)]
    assert [p["total"] for p in pages] == [6, 6, 6]
    assert [keys_of(p) for p in pages] == [everything[:4], everything[4:], []]
    assert keys_of(api.get("/products", brand="b2")) == ["b2/Q1", "b2/Q2"]
    assert api.get("/products", brand="b2")["total"] == 2
    paths = [
        i["path"]
        for i in detail(api.client.get("/v1/catalog/products?limit=0", headers=api.operator), 422)
    ]
    assert paths == ["query.limit"]


def test_lookups_and_what_they_do_not_find(api: Api) -> None:
    api.post([shoe("P1", "P1-40", "SHARED"), shoe("Q1", "SHARED", "TS-01/BLK/M", brand="b2")])
    held = api.get("/skus/P1-40")
    assert [(s["product"]["spu_code"], s["version"]) for s in held] == [("P1", 1)]
    # A SKU code may hold slashes, sent as they are or escaped.
    for path in ("/skus/TS-01/BLK/M", "/skus/TS-01%2FBLK%2FM"):
        assert [s["product"]["spu_code"] for s in api.get(path)] == ["Q1"]
    assert [s["product"]["brand"] for s in api.get("/skus/SHARED")] == ["b1", "b2"]

    def missing(path: str, **params: Any) -> Any:
        return detail(
            api.client.get(f"/v1/catalog{path}", params=params, headers=api.operator), 404
        )

    assert missing("/skus/NOPE")["what"] == "SKU" and missing("/skus/NOPE")["key"] == "NOPE"
    assert (missing("/products/b1/NOPE")["what"], missing("/products/b1/NOPE")["key"]) == (
        "product",
        "b1/NOPE",
    )
    assert missing("/products/b1/P1", version=9)["key"] == "b1/P1 v9"
    assert missing("/products/b3/P1/history")["key"] == "b3/P1"
    assert missing("/payload/P1-40", shop="tm-b1")["what"] == "shop"
    gone = api.client.post(
        "/v1/catalog/products/b1/P1/restore", json={"version": 2}, headers=api.operator
    )
    assert detail(gone, 404)["key"] == "b1/P1 v2"
    for path in ("/completeness", "/completeness/products"):
        refused = api.client.get(f"/v1/catalog{path}?platform=amazon", headers=api.operator)
        [issue] = detail(refused, 422)
        assert issue["path"] == "query.platform" and "'amazon'" in issue["message"]


# --- who may do what ---------------------------------------------------------------------


def test_a_brand_viewer_reads_its_brand_only(api: Api) -> None:
    api.post([shoe("P1", "P1-40", "SHARED"), shoe("P2"), shoe("Q1", "SHARED", brand="b2")])
    shops = [
        {"id": "tm-b1", "brand": "b1", "platform": "tmall", "settings": TM_B1},
        {"id": "tm-b2", "brand": "b2", "platform": "tmall", "settings": TM_B1},
    ]
    assert api.client.put(
        "/v1/catalog/shops", json={"shops": shops}, headers=api.operator
    ).is_success
    viewer = api.viewer
    assert keys_of(api.get("/products", headers=viewer)) == ["b1/P1", "b1/P2"]
    assert api.get("/products", headers=viewer)["total"] == 2
    for path in ("/products?brand=b2", "/products/b2/Q1", "/products/b2/Q1/history",
                 "/completeness?brand=b2", "/completeness/products?brand=b2"):  # fmt: skip
        refused = detail(api.client.get(f"/v1/catalog{path}", headers=viewer), 403)
        assert refused["brand"] == "b2", path
    assert [s["product"]["brand"] for s in api.get("/skus/SHARED", headers=viewer)] == ["b1"]
    assert api.client.get("/v1/catalog/skus/Q1-40", headers=viewer).status_code == 404
    rows = api.get("/completeness/products", headers=viewer)["items"]
    assert {r["brand"] for r in rows} == {"b1"} and len(rows) == 2
    assert api.get("/completeness", headers=viewer)["platforms"][0]["products"] == 2
    assert [s["id"] for s in api.get("/shops", headers=viewer)["shops"]] == ["tm-b1"]
    other = api.client.get("/v1/catalog/payload/SHARED?shop=tm-b2", headers=viewer)
    assert detail(other, 404)["what"] == "shop"
    assert api.get("/payload/SHARED", headers=viewer, shop="tm-b1")["payload"]["outer_id"] == "P1"


def test_only_an_operator_writes(api: Api, tmp_path: Path) -> None:
    api.post([shoe("P1")])
    viewer = api.viewer
    renamed = shoe("P1", title="改名")
    attempts = [
        api.client.post("/v1/catalog/products", json={"products": [renamed]}, headers=viewer),
        api.client.post("/v1/catalog/files", content=DEMO_CSV.read_bytes()[:2000], headers=viewer),
        api.client.put("/v1/catalog/shops", json={"shops": []}, headers=viewer),
        api.client.post("/v1/catalog/products/b1/P1/restore", json={"version": 1}, headers=viewer),
    ]
    for response in attempts:
        refused = detail(response, 403)
        assert (refused["role"], refused["action"]) == ("brand_viewer", "write")
    assert api.get("/products")["total"] == 1
    assert len(api.get("/products/b1/P1/history")) == 1
    assert api.get("/products/b1/P1")["product"]["title"] != "改名"


# --- shops, completeness, payloads -------------------------------------------------------


def test_shops_decide_where_products_are_checked_and_what_payloads_hold(api: Api) -> None:
    api.post(
        [
            shoe("P1"),
            shoe("P2", "P2/40", images=[]),
            shoe("P3", images=[], title=WIDE_TITLE),
            shoe("Q1", brand="b2"),
        ]
    )
    every = [s["platform"] for s in api.get("/completeness", brand="b1")["platforms"]]
    assert every == ["douyin", "jd", "pdd", "taobao", "tmall"]  # no shops yet: everywhere

    shops = [
        {"id": "tm-b1", "brand": "b1", "platform": "tmall", "settings": TM_B1},
        {"id": "jd-b1", "brand": "b1", "platform": "jd", "settings": JD_B1},
        {"id": "tm-b2", "brand": "b2", "platform": "tmall", "settings": {}},
    ]
    put = api.client.put("/v1/catalog/shops", json={"shops": shops}, headers=api.operator)
    assert put.status_code == 200, put.text
    report = api.get("/completeness", brand="b1")
    summary = {s["platform"]: (s["products"], s["ready"]) for s in report["platforms"]}
    assert summary == {"jd": (3, 1), "tmall": (3, 1)}
    ranked = [(b["platform"], b["field"], b["rule"], b["products"]) for b in report["blockers"]]
    assert [r[3] for r in ranked] == sorted((r[3] for r in ranked), reverse=True)
    assert ranked[:2] == [("jd", "images", "required", 2), ("tmall", "images", "required", 2)]
    assert ranked[2:] == [("tmall", "title", "maxWidth", 1)]
    assert report["blockers"][2]["examples"] == ["b1/P3"]
    # b2's shop has no settings: its products are blocked by exactly those.
    b2 = api.get("/completeness", brand="b2")["blockers"]
    assert {(b["field"], b["rule"]) for b in b2} == {
        ("location.state", "shop_setting"),
        ("location.city", "shop_setting"),
        ("freight_template_id", "shop_setting"),
    }

    sent = api.get("/payload/P1-40", shop="tm-b1")
    assert (sent["platform"], sent["ok"], sent["issues"]) == ("tmall", True, [])
    payload = sent["payload"]
    assert payload["location"] == {"state": "上海", "city": "上海"}
    assert payload["freight_template_id"] == "ft-tm-b1"
    assert payload["quantity"] == 0 and [s["quantity"] for s in payload["skus"]] == [0]
    jd = api.get("/payload/P2/40", shop="jd-b1")
    assert jd["platform"] == "jd" and not jd["ok"]
    assert [(i["field"], i["rule"]) for i in jd["issues"]] == [("images", "required")]

    # A brand that leaves a platform is no longer checked there.
    api.client.put("/v1/catalog/shops", json={"shops": shops[::2]}, headers=api.operator)
    left = api.get("/completeness", brand="b1")["platforms"]
    assert [s["platform"] for s in left] == ["tmall"]


def test_blockers_count_the_products_of_every_brand(api: Api) -> None:
    # Two brands may use one SPU code: they are two products a field blocks.
    api.post([shoe("P2", images=[]), shoe("P2", "Q-40", brand="b2", images=[])])
    tmall = api.get("/completeness", platform="tmall")["blockers"]
    images = [b for b in tmall if (b["field"], b["rule"]) == ("images", "required")]
    assert [(b["products"], b["examples"]) for b in images] == [(2, ["b1/P2", "b2/P2"])]


# --- a database that does not answer -----------------------------------------------------


def test_an_unreachable_database_is_503_and_never_shows_its_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Port 1: nothing listens there, so the connection is refused at once.
    url = "postgresql://omnistock:s3cret-pw@127.0.0.1:1/catalog"
    with serving(url) as api:
        answers = [
            api.client.get("/v1/catalog/products", headers=api.operator),
            api.client.post(
                "/v1/catalog/products", json={"products": [shoe("P1")]}, headers=api.operator
            ),
            api.client.get("/v1/catalog/completeness", headers=api.viewer),
        ]
    for response in answers:
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "5"
        assert response.json()["detail"]["database"] == "unavailable"
        assert "s3cret-pw" not in response.text and "127.0.0.1" not in response.text
    # The operator's log says which database, without its password.
    assert "omnistock:***@127.0.0.1:1/catalog" in caplog.text
    assert "s3cret-pw" not in caplog.text


def test_a_database_lost_while_serving_is_503(tmp_path: Path) -> None:
    with blank_database("postgresql", tmp_path) as url, serving(url) as api:
        api.post([shoe("P1")])
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(server_url("test"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        lost = api.client.get("/v1/catalog/products/b1/P1", headers=api.operator)
        assert lost.status_code == 503 and lost.headers["Retry-After"] == "5"
        assert lost.json()["detail"]["database"] == "unavailable"
