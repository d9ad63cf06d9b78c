"""Report schedules end to end on the embedded default: two servers of one deployment
(two apps on the same stores and database, each with its schedules' tick thread), two
brands' reports due at the same moment, a real SMTP server on loopback. Both reports
arrive, each exactly once, whole (the PDF has pages, the workbook opens), and every
delivery is in the log; later ticks send nothing again."""

from __future__ import annotations

import io
import time
import warnings
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import openpyxl
import pypdf
import pytest

from api.app import create_app, start_report_schedules
from engine.access.repository import InMemoryKeyRepository
from engine.core.settings import Settings
from engine.demo import build_demo
from engine.jobs.ticks import ThreadTicker
from engine.services.catalog import CatalogHandle
from engine.services.stores import StoreRegistry
from tests.reports.smtp import Server, smtp_server

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's httpx2 notice, as in tests/api
    from fastapi.testclient import TestClient

TENANT = "acme"


@pytest.fixture
def mail() -> Iterator[Server]:
    with smtp_server() as server:
        yield server


def _ticks(client: TestClient) -> int:
    ticker = client.app.state.report_ticker  # type: ignore[attr-defined]
    assert isinstance(ticker, ThreadTicker)
    return ticker.ticks


def test_two_reports_due_at_once_arrive_once_each(tmp_path: Path, mail: Server) -> None:
    url = f"sqlite:///{tmp_path / 'omnistock.db'}"
    settings = Settings(
        smtp_host="127.0.0.1",
        smtp_port=mail.port,
        smtp_starttls=False,
        report_tick_s=0.5,
        delivery_backoff_s=0.1,
    )
    keys = InMemoryKeyRepository()
    operator = {"Authorization": f"Bearer {keys.create(TENANT, 'operator')[0]}"}
    stores = StoreRegistry()  # one deployment's state, as its Redis would be
    with ExitStack() as stack:
        handle = CatalogHandle(url, migrate_now=True)
        stack.callback(handle.close)
        servers = [
            stack.enter_context(
                TestClient(create_app(settings, keys=keys, stores=stores, catalog=handle))
            )
            for _ in range(2)
        ]
        first = servers[0]
        snapshot, ruleset = build_demo(skus=120, history_days=14, after_campaign=True)
        snapshot["tenant"] = TENANT
        first.put("/v1/snapshot", json=snapshot, headers=operator).raise_for_status()
        first.put("/v1/ruleset", json=ruleset, headers=operator).raise_for_status()
        for brand in ("b1", "b2"):
            recipient = {"brand": brand, "target": f"ops@{brand}.example"}
            made = first.post("/v1/reports/recipients", json=recipient, headers=operator)
            assert made.status_code == 201, made.text
            window = {
                "brand": brand,
                "rule": "after_window",
                "from": "2026-11-10",
                "to": "2026-11-12",
            }
            made = first.post("/v1/reports/schedules", json=window, headers=operator)
            assert made.status_code == 201, made.text
        for server in servers:
            start_report_schedules(server.app, settings)  # type: ignore[arg-type]

        deadline = time.monotonic() + 180
        while len(mail.inbox.mails) < 2:
            assert time.monotonic() < deadline, f"{len(mail.inbox.mails)} mails after 180 s"
            time.sleep(0.2)
        # Later ticks of both servers find nothing due.
        seen = [_ticks(server) for server in servers]
        while any(_ticks(s) < n + 2 for s, n in zip(servers, seen, strict=True)):
            assert time.monotonic() < deadline + 60, "the ticks stopped"
            time.sleep(0.2)

        assert sorted(to for _, (to,) in mail.inbox.envelopes) == [
            "ops@b1.example",
            "ops@b2.example",
        ]
        for message in mail.inbox.mails:
            parts = {part.get_filename(): part for part in message.iter_attachments()}
            pdf = next(p for name, p in parts.items() if name and name.endswith(".pdf"))
            xlsx = next(p for name, p in parts.items() if name and name.endswith(".xlsx"))
            assert len(pypdf.PdfReader(io.BytesIO(pdf.get_content())).pages) >= 1
            assert openpyxl.load_workbook(io.BytesIO(xlsx.get_content())).sheetnames
            assert message.get_body(("html",)) is not None
        log = first.get("/v1/reports/deliveries", headers=operator).json()
        assert sorted((d["brand"], d["outcome"]) for d in log) == [("b1", "sent"), ("b2", "sent")]
