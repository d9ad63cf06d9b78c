"""/v1/settlements over a real app: its runs on a database of each backend (a SQLite file,
a PostgreSQL database of its own), its local job pool settling them. What a client sees:
the demo month uploaded and followed to its end, its outcomes filtered and paged, the
bill as JSON and as a workbook, the same upload reused, exceptions resolved by hand with
their trail, a brand viewer's cut, bad uploads named by field, file and line, and the
next month taking the pending pool. Every answer is checked against the OpenAPI
document."""

from __future__ import annotations

import io
import time
import warnings
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import jsonschema
import openpyxl
import pytest

from api.app import create_app
from engine.access.repository import InMemoryKeyRepository
from engine.core.settings import Settings
from engine.db.connect import connect
from engine.services.catalog import CatalogHandle
from engine.settlement.runstore import NewInput, SettlementStore
from tests.db.databases import BACKENDS, blank_database
from tests.settlement.months import DECEMBER_ORDERS, Files, december, demo_month

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's httpx2 notice, as in tests/api
    from fastapi.testclient import TestClient

Doc = dict[str, Any]
TENANT = "acme"
RUN = "/v1/settlements/{settlement_id}"


@dataclass
class World:
    client: TestClient
    spec: Doc
    database: str
    operator: dict[str, str]
    viewer: dict[str, str]  # a brand viewer of b1, the demo's brand
    viewer_b2: dict[str, str]

    def upload(
        self, files: Files, period: str = "2026-11", headers: dict[str, str] | None = None
    ) -> Any:
        parts = [(role, (name, data)) for role, name, data in files]
        return self.client.post(
            "/v1/settlements",
            data={"period": period},
            files=parts,
            headers=headers or self.operator,
        )

    def get(self, path: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
        return self.client.get(
            f"/v1/settlements{path}", params=params, headers=headers or self.operator
        )

    def documented(self, path: str, method: str, response: Any) -> Any:
        """The answer's body, checked against what the OpenAPI document says of it."""
        op = self.spec["paths"][path][method]
        status = str(response.status_code)
        assert status in op["responses"], f"{method} {path}: {status} undocumented"
        media = response.headers["content-type"].split(";")[0]
        content = op["responses"][status]["content"]
        assert media in content, f"{method} {path} {status}: {media} undocumented"
        if media != "application/json":
            return response.content
        body = response.json()
        schema = {**content[media]["schema"], "components": self.spec["components"]}
        jsonschema.validate(body, schema)
        return body

    def settled(self, response: Any) -> Doc:
        """The run a 202 started, once its job has ended."""
        started = self.documented("/v1/settlements", "post", response)
        assert response.status_code == 202, response.text
        run_id = started["settlement"]["id"]
        assert response.headers["Location"] == f"/v1/settlements/{run_id}"
        job_id = started["job"]["id"]
        deadline = time.monotonic() + 60
        while True:
            job = self.client.get(f"/v1/jobs/{job_id}", headers=self.operator).json()
            if job["status"] in ("finished", "failed"):
                break
            assert time.monotonic() < deadline, f"job still {job['status']}"
            time.sleep(0.05)
        # The queue job names the tenant's files: a brand viewer does not read it.
        assert self.client.get(f"/v1/jobs/{job_id}", headers=self.viewer).status_code == 403
        view: Doc = self.documented(RUN, "get", self.get(f"/{run_id}"))
        assert job["status"] == "finished", (job, view)
        assert job["result"] == {
            "settlement_id": run_id,
            "status": "done",
            "url": f"/v1/settlements/{run_id}",
        }
        return view


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("settlements")
    with ExitStack() as stack:
        url = stack.enter_context(blank_database(request.param, folder))
        keys = InMemoryKeyRepository()
        handle = CatalogHandle(url, migrate_now=True)
        stack.callback(handle.close)
        app = create_app(Settings(), keys=keys, catalog=handle)
        client = stack.enter_context(TestClient(app))
        yield World(
            client,
            app.openapi(),
            url,
            _bearer(keys.create(TENANT, "operator")[0]),
            _bearer(keys.create(TENANT, "brand_viewer", "b1")[0]),
            _bearer(keys.create(TENANT, "brand_viewer", "b2")[0]),
        )


@pytest.fixture(scope="module")
def november(world: World) -> Doc:
    """The demo month, uploaded and settled: the run at its end."""
    return world.settled(world.upload(demo_month()))


# --- a month settled -----------------------------------------------------------------------


def test_a_month_is_settled_and_read_back(world: World, november: Doc) -> None:
    run_id = november["id"]
    assert (november["status"], november["brand"], november["period"]) == ("done", "b1", "2026-11")
    assert november["carry_from"] is None and november["error"] is None
    summary = november["summary"]
    assert summary["outcomes"]["matched"] == 5600 and summary["outcomes"]["pending"] == 20
    assert summary["bill"]["fee"] == "47149.34"
    assert [one["name"] for one in november["inputs"]] == [name for _, name, _ in demo_month()]
    listed = world.documented("/v1/settlements", "get", world.get(""))
    assert run_id in [run["id"] for run in listed] and "summary" not in listed[0]

    bill = world.documented(f"{RUN}/bill", "get", world.get(f"/{run_id}/bill"))
    assert (bill["brand"], bill["period"], bill["fee"]) == ("b1", "2026-11", "47149.34")
    assert sum(line["orders"] for line in bill["lines"]) == bill["orders"]

    answer = world.get(f"/{run_id}/bill.xlsx")
    data = world.documented(f"{RUN}/bill.xlsx", "get", answer)
    assert 'filename="bill-2026-11.xlsx"' in answer.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames[0] == "summary" and "held exceptions" in book.sheetnames
    # Every record held out of the bill, whatever its source: all but the matched ones
    # and those of no order, under a header row.
    counts = summary["outcomes"]
    held = sum(counts.values()) - counts["matched"] - counts["not_for_orders"]
    assert book["held exceptions"].max_row == 1 + held


def test_outcomes_are_filtered_and_paged(world: World, november: Doc) -> None:
    path = f"/{november['id']}/outcomes"

    def page(**params: Any) -> Doc:
        body: Doc = world.documented(f"{RUN}/outcomes", "get", world.get(path, **params))
        return body

    pending = page(outcome="pending", limit=1000)
    assert pending["total"] == 20 and len(pending["items"]) == 20
    pages = [page(outcome="pending", limit=7, offset=start)["items"] for start in (0, 7, 14)]
    assert [len(items) for items in pages] == [7, 7, 6]
    assert [row for items in pages for row in items] == pending["items"]
    row = pending["items"][0]
    assert row["source"] == "orders" and row["record"].startswith("orders.csv:")
    assert row["resolution"] is None
    assert page(source="movements", outcome="not_for_orders")["total"] == 1
    one = page(order_id=row["order_id"])
    assert one["total"] >= 1 and {r["order_id"] for r in one["items"]} == {row["order_id"]}
    shop = page(shop="专营店", limit=50)
    assert shop["total"] > 0 and {r["shop"] for r in shop["items"]} == {"专营店"}
    everything = page(limit=1)
    assert everything["total"] == sum(november["summary"]["outcomes"].values())
    # What a filter cannot be is a 422 naming it.
    for params, field in (
        ({"outcome": "lost"}, "query.outcome"),
        ({"limit": 0}, "query.limit"),
    ):
        answer = world.get(path, **params)
        assert answer.status_code == 422, answer.text
        world.documented(f"{RUN}/outcomes", "get", answer)
        assert answer.json()["detail"][0]["path"] == field


def test_the_same_upload_again_is_the_done_run(world: World, november: Doc) -> None:
    answer = world.upload(demo_month())
    again = world.documented("/v1/settlements", "post", answer)
    assert answer.status_code == 200, answer.text
    assert again["reused"] and again["job"] is None
    assert again["settlement"]["id"] == november["id"]
    assert again["settlement"]["inputs_hash"] == november["inputs_hash"]


def test_exceptions_are_resolved_by_hand_with_a_trail(world: World, november: Doc) -> None:
    run_id = november["id"]
    path = f"/{run_id}/resolutions"
    short = world.get(f"/{run_id}/outcomes", outcome="amount_short", limit=1).json()["items"][0]
    matched = world.get(f"/{run_id}/outcomes", outcome="matched", limit=1).json()["items"][0]

    def resolve(record: str, note: str, headers: dict[str, str] | None = None) -> Any:
        return world.client.post(
            f"/v1/settlements{path}",
            json={"record": record, "note": note},
            headers=headers or world.operator,
        )

    first = resolve(short["record"], "the buyer paid the rest by transfer")
    assert first.status_code == 201, first.text
    made = world.documented(f"{RUN}/resolutions", "post", first)
    assert (made["outcome"], made["current"]) == ("amount_short", True)
    assert resolve(short["record"], "refunded the difference instead").status_code == 201
    trail = world.documented(f"{RUN}/resolutions", "get", world.get(path))
    mine = [t for t in trail if t["record"] == short["record"]]
    assert [(t["note"], t["current"]) for t in mine] == [
        ("the buyer paid the rest by transfer", False),
        ("refunded the difference instead", True),
    ]
    assert world.get(path, record=short["record"]).json() == mine
    done = world.get(f"/{run_id}/outcomes", resolved="true", outcome="amount_short").json()
    assert [row["record"] for row in done["items"]] == [short["record"]]
    assert done["items"][0]["resolution"]["note"] == "refunded the difference instead"

    # A record that matched, or one the run does not have: a 422 naming the record.
    for record, said in ((matched["record"], "matched"), ("nowhere.csv:7", "no record")):
        answer = resolve(record, "x")
        world.documented(f"{RUN}/resolutions", "post", answer)
        assert answer.status_code == 422, answer.text
        [issue] = answer.json()["detail"]
        assert issue["path"] == "body.record" and said in issue["message"]
    assert resolve(short["record"], "a\x00b").status_code == 422
    assert resolve(short["record"], "viewer", world.viewer).status_code == 403
    missing = world.client.post(
        f"/v1/settlements/{'0' * 32}/resolutions",
        json={"record": "a.csv:1", "note": "x"},
        headers=world.operator,
    )
    assert missing.status_code == 404


def test_a_brand_viewer_sees_its_brand_only(world: World, november: Doc) -> None:
    run_id = november["id"]
    for suffix in ("", "/outcomes", "/bill", "/bill.xlsx", "/resolutions"):
        mine = world.get(f"/{run_id}{suffix}", headers=world.viewer)
        assert mine.status_code == 200, (suffix, mine.text)
        other = world.get(f"/{run_id}{suffix}", headers=world.viewer_b2)
        assert other.status_code == 404, (suffix, other.text)
        world.documented(f"{RUN}{suffix}", "get", other)
    assert [r["id"] for r in world.get("", headers=world.viewer).json()] == [
        r["id"] for r in world.get("", brand="b1").json()
    ]
    assert world.get("", headers=world.viewer_b2).json() == []
    assert world.get("", headers=world.viewer_b2, brand="b1").status_code == 403
    refused = world.upload(demo_month(), headers=world.viewer)
    assert refused.status_code == 403
    world.documented("/v1/settlements", "post", refused)


# --- bad requests --------------------------------------------------------------------------


def _with(files: Files, index: int, name: str, data: bytes) -> Files:
    changed = list(files)
    changed[index] = (files[index][0], name, data)
    return changed


def test_bad_uploads_are_named_by_field_file_and_line(world: World) -> None:
    before = len(world.get("", limit=1000).json())
    files = demo_month()
    orders = files[1][2].decode("gbk").split("\n")
    cells = orders[2].split(",")
    cells[8] = "1,234.5"  # 买家实际支付金额, third line of the file
    orders[2] = ",".join(cells[:8] + ['"1,234.5"'] + cells[9:])
    cases = [
        (_with(files, 1, "bad-orders.csv", "\n".join(orders).encode("gbk")), "2026-11"),
        (_with(files, 4, "stock.csv", files[1][2]), "2026-11"),
        (
            _with(files, 0, "terms.yaml", b"brand: b1\nmethod: {kind: percent, rate: 5}\n"),
            "2026-11",
        ),
        (_with(files, 3, "alipay-trade.zip", files[3][2]), "2026-11"),
        (files, "2026-13"),
        (files, "0000-01"),
    ]
    found = []
    for sent, period in cases:
        answer = world.upload(sent, period)
        world.documented("/v1/settlements", "post", answer)
        assert answer.status_code == 422, answer.text
        found.append([(d["path"], d["message"]) for d in answer.json()["detail"]])
    bad_amount, wrong_kind, bad_contract, same_name, bad_period, year_zero = found
    assert bad_amount[0][0] == "bad-orders.csv:3:买家实际支付金额"
    assert "expected an amount" in bad_amount[0][1]
    assert wrong_kind == [("stock.csv", wrong_kind[0][1])]
    assert "given as warehouse records (warehouse)" in wrong_kind[0][1]
    assert bad_contract[0][0] == "terms.yaml.method.rate"
    assert same_name[0][0] == "body.payments[1]" and "a second file" in same_name[0][1]
    assert bad_period[0][0] == year_zero[0][0] == "body.period"
    # A body that is no readable form: a 422 naming the body, not a bare 400.
    broken = world.client.post(
        "/v1/settlements",
        content=b"--b0\r\n[]--b0--\r\n",
        headers={**world.operator, "content-type": "multipart/form-data; boundary=b0"},
    )
    world.documented("/v1/settlements", "post", broken)
    assert broken.status_code == 422 and broken.json()["detail"][0]["path"] == "body"
    # Nothing was stored of any of them.
    assert len(world.get("", limit=1000).json()) == before


def test_a_file_above_the_upload_limit_is_413_naming_it(world: World) -> None:
    keys = InMemoryKeyRepository()
    headers = _bearer(keys.create(TENANT, "operator")[0])
    handle = CatalogHandle(world.database, migrate_now=False)
    small = create_app(Settings(settlement_max_upload_bytes=200_000), keys=keys, catalog=handle)
    try:
        with TestClient(small) as client:
            parts = [(role, (name, data)) for role, name, data in demo_month()]
            answer = client.post(
                "/v1/settlements", data={"period": "2026-11"}, files=parts, headers=headers
            )
    finally:
        handle.close()
    assert answer.status_code == 413, answer.text
    world.documented("/v1/settlements", "post", answer)
    detail = answer.json()["detail"]
    assert (detail["field"], detail["file"], detail["limit_bytes"]) == (
        "orders[0]",
        "orders.csv",
        200_000,
    )


def test_a_run_not_done_has_no_outputs_yet(world: World) -> None:
    store = SettlementStore(connect(world.database))
    contract = NewInput("contract", 0, "c.yaml", "0" * 64, b"brand: b1\n")
    run = store.create_run(
        TENANT,
        "e" * 32,
        brand="b1",
        period="2030-01",
        inputs_hash="1" * 64,
        carry_from=None,
        created_by="test",
        inputs=[contract],
    )
    store.dispose()
    for suffix in ("/outcomes", "/bill", "/bill.xlsx"):
        answer = world.get(f"/{run.id}{suffix}")
        assert answer.status_code == 409, answer.text
        body = world.documented(f"{RUN}{suffix}", "get", answer)
        assert body["detail"]["status"] == "queued"
    queued = world.documented(RUN, "get", world.get(f"/{run.id}"))
    assert queued["status"] == "queued" and queued["summary"] is None
    assert world.get(f"/{'0' * 32}").status_code == 404
    assert world.get("/not-a-run-id").status_code == 422


# --- the next month ------------------------------------------------------------------------


def test_the_next_month_takes_the_pending_pool(world: World, november: Doc) -> None:
    held = world.get(f"/{november['id']}/outcomes", outcome="pending", source="orders").json()
    pairs = [(row["order_id"], row["amount"]) for row in held["items"]]
    assert len(pairs) == 20
    run = world.settled(world.upload(december(pairs), "2026-12"))
    assert run["carry_from"] == november["id"]
    pool = run["summary"]["pending_pool"]
    assert pool["carried_in"]["orders"] == 20 and pool["held"]["orders"] == 0
    carried = {"2026-11/" + row["record"] for row in held["items"]}  # named with their month
    rows = world.get(f"/{run['id']}/outcomes", source="orders", limit=1000).json()["items"]
    assert {r["record"]: r["outcome"] for r in rows if r["record"] in carried} == {
        record: "matched" for record in carried
    }
    assert world.get(f"/{run['id']}/bill").json()["orders"] == 20 + DECEMBER_ORDERS
