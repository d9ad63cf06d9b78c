"""/v1/reports over a real app on a database of each backend (a SQLite file, a PostgreSQL
database of its own) and its local job pool: the demo's Double-11 window built from the
tenant's snapshot and its settled month, followed to its end, downloaded in every format
and read back; its settlement figures equal, to the fen, what the settlement route
answers; a brand viewer reads its brand's reports only and posts nothing; bad windows
and brands are 422s naming the field; recipients, schedules and the delivery log."""

from __future__ import annotations

import io
import time
import warnings
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import openpyxl
import pypdf
import pytest

from api.app import create_app
from engine.access.repository import InMemoryKeyRepository
from engine.core.settings import Settings
from engine.demo import build_demo
from engine.services.catalog import CatalogHandle
from tests.db.databases import BACKENDS, blank_database
from tests.settlement.months import demo_month

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's httpx2 notice, as in tests/api
    from fastapi.testclient import TestClient

Doc = dict[str, Any]
TENANT = "acme"
WINDOW = {"brand": "b1", "from": "2026-11-10", "to": "2026-11-12"}


@dataclass
class World:
    client: TestClient
    operator: dict[str, str]
    viewer: dict[str, str]  # a brand viewer of b1
    viewer_b2: dict[str, str]

    def finished(self, job_id: str) -> Doc:
        deadline = time.monotonic() + 120
        while True:
            job: Doc = self.client.get(f"/v1/jobs/{job_id}", headers=self.operator).json()
            if job["status"] in ("finished", "failed"):
                return job
            assert time.monotonic() < deadline, f"job still {job['status']}"
            time.sleep(0.1)


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("reports")
    with ExitStack() as stack:
        url = stack.enter_context(blank_database(request.param, folder))
        keys = InMemoryKeyRepository()
        handle = CatalogHandle(url, migrate_now=True)
        stack.callback(handle.close)
        app = create_app(Settings(), keys=keys, catalog=handle)
        client = stack.enter_context(TestClient(app))
        world = World(
            client,
            _bearer(keys.create(TENANT, "operator")[0]),
            _bearer(keys.create(TENANT, "brand_viewer", "b1")[0]),
            _bearer(keys.create(TENANT, "brand_viewer", "b2")[0]),
        )
        snapshot, ruleset = build_demo(skus=300, history_days=28, after_campaign=True)
        snapshot["tenant"] = TENANT
        client.put("/v1/snapshot", json=snapshot, headers=world.operator).raise_for_status()
        client.put("/v1/ruleset", json=ruleset, headers=world.operator).raise_for_status()
        parts = [(role, (name, data)) for role, name, data in demo_month()]
        settled = client.post(
            "/v1/settlements", data={"period": "2026-11"}, files=parts, headers=world.operator
        )
        assert settled.status_code == 202, settled.text
        assert world.finished(settled.json()["job"]["id"])["status"] == "finished"
        yield world


@pytest.fixture(scope="module")
def built(world: World) -> Doc:
    """The demo window's report, asked for and drawn: the build at its end."""
    started = world.client.post("/v1/reports", json=WINDOW, headers=world.operator)
    assert started.status_code == 202, started.text
    body = started.json()
    build_id = body["report"]["id"]
    assert started.headers["Location"] == f"/v1/reports/{build_id}"
    assert body["report"]["status"] == "queued"
    job = world.finished(body["job"]["id"])
    assert job["status"] == "finished", job
    assert job["result"]["url"] == f"/v1/reports/{build_id}"
    done: Doc = world.client.get(f"/v1/reports/{build_id}", headers=world.viewer).json()
    assert done["status"] == "done", done
    return done


def _figures(report: Doc, section: str) -> dict[str, Any]:
    (found,) = [s for s in report["sections"] if s["key"] == section]
    return {f["key"]: f["value"] for f in found["figures"]}


def _fen(yuan: str) -> int:
    return int(Decimal(yuan) * 100)


def test_the_report_is_built_from_the_tenants_data(built: Doc) -> None:
    report = built["report"]
    assert (report["brand"], report["start"], report["end"]) == ("b1", "2026-11-10", "2026-11-12")
    sales = _figures(report, "sales")
    assert sales["units"] > 0 and sales["gmv"] > 0
    assert _figures(report, "stock")["units_oversold"] == 0


def test_the_settlement_figures_are_the_settlement_routes(world: World, built: Doc) -> None:
    runs = world.client.get("/v1/settlements", headers=world.operator).json()
    (run,) = [r for r in runs if r["brand"] == "b1" and r["period"] == "2026-11"]
    bill = world.client.get(f"/v1/settlements/{run['id']}/bill", headers=world.viewer).json()
    figures = _figures(built["report"], "settlement")
    assert figures["gmv"] == _fen(bill["gmv"]) and figures["fee"] == _fen(bill["fee"])
    assert figures["held"] == bill["held"]
    assert figures["held_amount"] == _fen(bill["held_amount"])


def test_every_file_downloads_and_opens(world: World, built: Doc) -> None:
    urls = built["urls"]
    xlsx = world.client.get(urls["xlsx"], headers=world.viewer)
    assert (
        xlsx.status_code == 200 and "b1-campaign-2026-11-10" in xlsx.headers["content-disposition"]
    )
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert len(book.sheetnames) == len(built["report"]["sections"])
    pdf = world.client.get(urls["pdf"], headers=world.viewer)
    assert pdf.headers["content-type"] == "application/pdf"
    assert len(pypdf.PdfReader(io.BytesIO(pdf.content)).pages) >= 1
    html = world.client.get(urls["html"], headers=world.viewer)
    assert html.headers["content-type"].startswith("text/html") and "b1" in html.text


def test_a_brand_viewer_reads_its_brand_only_and_posts_nothing(world: World, built: Doc) -> None:
    other = world.client.get(f"/v1/reports/{built['id']}", headers=world.viewer_b2)
    assert other.status_code == 404
    assert world.client.get(built["urls"]["pdf"], headers=world.viewer_b2).status_code == 404
    listed = world.client.get("/v1/reports", headers=world.viewer_b2).json()
    assert built["id"] not in [r["id"] for r in listed]
    assert built["id"] in [
        r["id"] for r in world.client.get("/v1/reports", headers=world.viewer).json()
    ]
    refused = world.client.post("/v1/reports", json=WINDOW, headers=world.viewer)
    assert refused.status_code == 403
    send = world.client.post(f"/v1/reports/{built['id']}/send", headers=world.viewer)
    assert send.status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**WINDOW, "brand": "zz"}, "brand"),
        ({**WINDOW, "from": "2026-11-12", "to": "2026-11-10"}, "from"),
        ({**WINDOW, "from": "2099-01-01", "to": "2099-01-02"}, "from"),
        ({**WINDOW, "from": "2024-01-01", "to": "2026-11-12"}, "to"),
        ({**WINDOW, "lang": "fr"}, "lang"),
    ],
)
def test_bad_requests_name_their_field(world: World, body: Doc, field: str) -> None:
    answer = world.client.post("/v1/reports", json=body, headers=world.operator)
    assert answer.status_code == 422, answer.text
    assert field in answer.text


def test_recipients_schedules_and_an_unreachable_smtp_server(world: World, built: Doc) -> None:
    client, operator = world.client, world.operator
    bad = client.post(
        "/v1/reports/recipients", json={"brand": "b1", "target": "not-an-address"}, headers=operator
    )
    assert bad.status_code == 422 and "not-an-address" in bad.text
    made = client.post(
        "/v1/reports/recipients", json={"brand": "b1", "target": "ops@b1.example"}, headers=operator
    )
    assert made.status_code == 201, made.text
    again = client.post(
        "/v1/reports/recipients", json={"brand": "b1", "target": "ops@b1.example"}, headers=operator
    )
    assert again.status_code == 409
    listed = client.get("/v1/reports/recipients", headers=operator).json()
    assert [r["target"] for r in listed] == ["ops@b1.example"]
    assert client.get("/v1/reports/recipients", headers=world.viewer).status_code == 403

    schedule = client.post(
        "/v1/reports/schedules",
        json={"brand": "b1", "rule": "after_window", "from": "2026-11-10", "to": "2026-11-12"},
        headers=operator,
    )
    assert schedule.status_code == 201, schedule.text
    assert schedule.json()["kind"] == "campaign"
    assert client.get("/v1/reports/schedules", headers=operator).json()[0]["rule"] == "after_window"

    # No SMTP server is set in these settings: the delivery fails, is logged with its
    # reason, and the job says why; nothing is lost (the build stays, the log keeps it).
    sent = client.post(f"/v1/reports/{built['id']}/send", headers=operator)
    assert sent.status_code == 202, sent.text
    job = world.finished(sent.json()["id"])
    assert job["status"] == "failed" and "OMNISTOCK_SMTP_HOST" in job["error"]
    log = client.get("/v1/reports/deliveries", headers=world.viewer).json()
    assert log and log[0]["target"] == "ops@b1.example" and log[0]["outcome"] == "failed"
    assert client.get("/v1/reports/deliveries", headers=world.viewer_b2).json() == []
    gone = client.delete(f"/v1/reports/recipients/{made.json()['id']}", headers=operator)
    assert gone.status_code == 204
