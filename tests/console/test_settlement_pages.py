"""Settlements from the console in a real browser, on a SQLite catalog database holding
the settlement demo's months (engine/settlement/demo.py, as `omnistock demo` writes them):
the runs listed, a run's summary and bill, its exceptions beside what they were matched
against, filtered and paged; an exception resolved by hand after a confirmation step,
recorded once with who and when; a month uploaded from the form and followed to its end,
its files downloaded back; a brand viewer's limits; bad input as pages naming the field."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import FilePayload, Page, expect

from engine.access.keys import key_id_of
from engine.services import settlements as service
from engine.services.catalog import CatalogHandle
from engine.settlement.demo import write_settlement_demo
from engine.settlement.output import HELD_OUTCOMES
from engine.settlement.runstore import SettlementStore
from tests.console.conftest import sign_in
from tests.console.served import TENANT, Served, serve_console
from tests.settlement.months import december

# Each demo brand's files, in the order a run is given them (role, file name).
FILES = {
    "b1": [
        ("contract", "contract.yaml"),
        ("orders", "orders.csv"),
        ("payments", "alipay-trade.zip"),
        ("payments", "alipay-account.csv"),
        ("warehouse", "warehouse.csv"),
    ],
    "b2": [
        ("contract", "contract.yaml"),
        ("orders", "orders.csv"),
        ("payments", "wechat.csv"),
        ("warehouse", "warehouse.csv"),
    ],
}
FILES["b3"] = FILES["b1"]
HELD = {one.value for one in HELD_OUTCOMES}


@dataclass
class World:
    served: Served
    store: SettlementStore
    demo: Path  # the demo's settlement folder: <brand>/<files>
    runs: dict[str, str]  # brand -> its run's id (b1 and b2, settled before serving)

    def url(self, brand: str, suffix: str = "", **query: str) -> str:
        params = "&".join(f"{k}={v}" for k, v in query.items())
        return self.served.url(f"/settlements/{self.runs[brand]}{suffix}") + (
            f"?{params}" if params else ""
        )


def _settle(store: SettlementStore, demo: Path, brand: str) -> str:
    uploads = [
        service.Upload(role, name, (demo / brand / name).read_bytes())
        for role, name in FILES[brand]
    ]
    made = service.create_run(store, TENANT, "2026-11", uploads, "seed")
    return service.execute(store, TENANT, made.run.id).id


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The console on a catalog database in which b1's and b2's demo months are settled
    (b2's last: the newest)."""
    folder = tmp_path_factory.mktemp("settlements")
    write_settlement_demo(folder / "demo")
    demo = folder / "demo" / "settlement"
    handle = CatalogHandle(f"sqlite:///{folder / 'omnistock.db'}", migrate_now=True)
    store = SettlementStore(handle.open().store.engine)
    runs = {brand: _settle(store, demo, brand) for brand in ("b1", "b2")}
    try:
        with serve_console(200, catalog=handle) as running:
            yield World(running, store, demo, runs)
    finally:
        handle.close()


def _summary(world: World, brand: str) -> dict[str, int]:
    run = world.store.run(TENANT, world.runs[brand])
    assert run.summary is not None
    counts: dict[str, int] = run.summary["outcomes"]
    return counts


# --- the runs ------------------------------------------------------------------------------


def test_the_runs_are_listed_newest_first_with_their_figures(page: Page, world: World) -> None:
    sign_in(page, world.served, world.served.operator)
    page.goto(world.served.url("/settlements"))
    rows = page.locator("table.settlements tbody tr")
    ids = [rows.nth(i).get_attribute("data-run") for i in range(rows.count())]
    assert ids.index(world.runs["b2"]) < ids.index(world.runs["b1"])  # b2's is newer
    assert ids == [run.id for run in world.store.runs(TENANT)]  # as the API lists them
    b1 = page.locator(f"tr[data-run='{world.runs['b1']}']")
    bill = service.bill(world.store, TENANT, world.runs["b1"], None)
    expect(b1).to_contain_text(bill["gmv"])
    expect(b1).to_contain_text(bill["fee"])
    expect(b1).to_contain_text(bill["held_amount"])
    expect(b1.locator("[data-held]")).to_have_text(str(bill["held"]))
    counts = _summary(world, "b1")
    shown = {
        str(link.get_attribute("data-outcome")): link.inner_text()
        for link in b1.locator("a[data-outcome]").all()
    }
    assert set(shown) == {name for name in HELD if counts[name]}
    assert all(text.endswith(f" {counts[name]}") for name, text in shown.items())
    # A period that has no run: the list says so.
    page.goto(world.served.url("/settlements?period=2026-10"))
    assert page.locator("table.settlements").count() == 0
    expect(page.locator("p.notice")).to_be_visible()


def test_the_runs_are_paged(page: Page, world: World) -> None:
    """55 runs of another tenant (queued, as made): 50 on a page, the rest on the next."""
    tenant = "paged"
    for n in range(55):
        world.store.create_run(
            tenant,
            f"{n:032x}",
            brand="b9" if n % 5 else "b8",
            period="2026-11",
            inputs_hash=f"{n:064x}",
            carry_from=None,
            created_by="seed",
            inputs=[],
        )
    key, _ = world.served.keys.create(tenant, "operator")
    sign_in(page, world.served, key)
    page.goto(world.served.url("/settlements"))
    rows = page.locator("table.settlements tbody tr")
    assert rows.count() == 50 and page.locator("a[rel=prev]").count() == 0
    first = [row.get_attribute("data-run") for row in rows.all()]
    page.click("a[rel=next]")
    expect(page).to_have_url(re.compile(r"page=2"))
    rest = [row.get_attribute("data-run") for row in rows.all()]
    assert len(rest) == 5 and page.locator("a[rel=next]").count() == 0
    assert first + rest == [run.id for run in world.store.runs(tenant)]
    # One brand's, through the filter form.
    page.fill("#brand", "b8")
    page.click("form.filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"brand=b8"))
    assert {row.inner_text().split()[0] for row in rows.all()} == {"b8"}
    assert rows.count() == 11


def test_a_run_shows_its_summary_bill_and_files(page: Page, world: World) -> None:
    sign_in(page, world.served, world.served.operator)
    page.goto(world.url("b1"))
    expect(page.locator("h1")).to_have_text("Settlement of b1, 2026-11")
    counts = _summary(world, "b1")
    for name, n in counts.items():
        expect(page.locator(f"[data-count='{name}']")).to_have_text(str(n))
    bill = service.bill(world.store, TENANT, world.runs["b1"], None)
    for key in ("gmv", "fee", "held", "held_amount", "settled"):
        expect(page.locator(f"dd[data-figure='{key}']")).to_have_text(str(bill[key]))
    assert page.locator("table.shops tbody tr").count() == len(bill["lines"])
    with page.expect_download() as download:
        page.click("a[data-file='orders.csv']")
    got = Path(download.value.path()).read_bytes()
    assert got == (world.demo / "b1" / "orders.csv").read_bytes()
    with page.expect_download() as download:
        page.click("a[data-file='bill.xlsx']")
    assert download.value.suggested_filename == "bill-b1-2026-11.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert "held exceptions" in book.sheetnames


def test_exceptions_are_paged_filtered_and_shown_beside_their_matches(
    page: Page, world: World
) -> None:
    sign_in(page, world.served, world.served.operator)
    counts = _summary(world, "b1")
    page.goto(world.url("b1"))
    held = sum(n for name, n in counts.items() if name in HELD)
    expect(page.locator(".page-of")).to_have_text(f"Page 1 of {-(-held // 50)} · {held} rows")
    assert page.locator("table.exceptions tbody tr").count() == 50
    assert page.locator("table.exceptions tr[data-outcome='matched']").count() == 0

    # One outcome through the filter form, then its second page.
    page.select_option("#outcome", "amount_short")
    page.click("form.filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"outcome=amount_short"))
    short = counts["amount_short"]
    expect(page.locator(".page-of")).to_contain_text(f"{short} rows")
    rows = page.locator("table.exceptions tbody tr")
    assert {r.get_attribute("data-outcome") for r in rows.all()} == {"amount_short"}
    page.click("a[rel=next]")
    expect(page.locator(".page-of")).to_contain_text("Page 2")
    assert rows.count() == short - 50

    # An order short-paid: its bill line and its warehouse record beside it.
    page.goto(world.url("b1", outcome="amount_short"))
    order = page.locator("table.exceptions tbody tr").first
    record = str(order.get_attribute("data-record"))
    assert record.startswith("orders.csv:")
    expect(order.locator("td[data-side=orders]")).to_have_text("this record")
    expect(order.locator("td[data-side=payments]")).to_contain_text("alipay-trade.zip/")
    expect(order.locator("td[data-side=movements]")).to_contain_text("warehouse.csv:")
    # An order with no payment: no bill line, and the reason says why.
    page.goto(world.url("b1", outcome="missing_payment"))
    unpaid = page.locator("table.exceptions tbody tr").first
    expect(unpaid.locator("td[data-side=payments] [data-none]")).to_have_text("none")
    expect(unpaid).to_contain_text("no payment")


def _resolve(page: Page, world: World, outcome: str, note: str) -> str:
    """Open the first exception of `outcome`, write the note, review it: the record."""
    page.goto(world.url("b1", outcome=outcome, resolved="no"))
    row = page.locator("table.exceptions tbody tr").first
    record = str(row.get_attribute("data-record"))
    row.locator("a[data-resolve]").click()
    expect(page.locator("h1")).to_have_text(f"Resolve {record}")
    page.fill("#note", note)
    page.click("main form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Confirm the resolution")
    expect(page.locator("[data-note]")).to_have_text(note)
    return record


def test_an_exception_is_resolved_by_hand_once_after_a_confirmation(
    page: Page, world: World
) -> None:
    sign_in(page, world.served, world.served.operator)
    run_id = world.runs["b1"]
    note = "the buyer paid the rest by bank transfer, receipt 88120"
    record = _resolve(page, world, "amount_short", note)
    # The lines as the files hold them: the order, its bill line and its outbound, each
    # naming the order.
    order_id = page.locator("dl.exception dd").nth(2).inner_text()
    for side in ("orders", "payments", "movements"):
        expect(page.locator(f"td[data-side={side}] table.line")).to_contain_text(order_id)
    assert service.resolutions(world.store, TENANT, run_id, None, record) == []  # not yet
    confirm = page.locator("form:has(button:text('Record the resolution'))")
    action = world.served.base + (confirm.get_attribute("action") or "")
    fields: dict[str, str | float | bool] = {
        str(one.get_attribute("name")): str(one.get_attribute("value"))
        for one in confirm.locator("input[type=hidden]").all()
    }
    page.click("text=Record the resolution")
    expect(page.locator("p.done[role=status]")).to_contain_text(f"Resolution of {record}")
    # Back on the rows it was started from (the unresolved short payments), which it has
    # now left.
    expect(page).to_have_url(re.compile(r"outcome=amount_short&resolved=no"))
    first = page.locator("table.exceptions tbody tr").first
    assert first.get_attribute("data-record") != record
    [made] = service.resolutions(world.store, TENANT, run_id, None, record)
    assert (made["note"], made["outcome"], made["current"]) == (note, "amount_short", True)
    assert made["resolved_by"] == key_id_of(world.served.operator)
    # The confirmation sent again: refused, nothing recorded a second time.
    again = page.request.post(action, form=fields)
    assert again.status == 409 and "already sent" in again.text()
    assert len(service.resolutions(world.store, TENANT, run_id, None, record)) == 1
    # The record is now among the resolved ones, with its note.
    page.goto(world.url("b1", outcome="amount_short", resolved="yes"))
    rows = page.locator("table.exceptions tbody tr")
    assert [r.get_attribute("data-record") for r in rows.all()] == [record]
    expect(rows.first.locator("[data-resolution]")).to_contain_text(note)


# --- a month uploaded ----------------------------------------------------------------------


def _upload(page: Page, world: World, brand: str, swap: dict[str, str] | None = None) -> None:
    page.goto(world.served.url("/settlements/new"))
    page.fill("#period", "2026-11")
    chosen: dict[str, list[str]] = {}
    for role, name in FILES[brand]:
        chosen.setdefault(role, []).append(str(world.demo / brand / (swap or {}).get(name, name)))
    for role, paths in chosen.items():
        page.set_input_files(f"#{role}", paths)
    page.click("main form button[type=submit]")


def test_a_month_is_uploaded_settled_by_a_job_and_reused(page: Page, world: World) -> None:
    sign_in(page, world.served, world.served.operator)
    _upload(page, world, "b3")
    page.wait_for_url(re.compile(r".*/console/settlements/[0-9a-f]{32}$"))
    run_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("[data-count='matched']")).to_be_visible(timeout=60_000)
    run = world.store.run(TENANT, run_id)
    assert (run.brand, run.status.value, run.created_by) == ("b3", "done", run.created_by)
    assert run.summary is not None
    expect(page.locator("[data-count='matched']")).to_have_text(
        str(run.summary["outcomes"]["matched"])
    )
    # The same files again: that run, nothing queued.
    _upload(page, world, "b3")
    page.wait_for_url(re.compile(rf".*/console/settlements/{run_id}\?reused=1$"))
    expect(page.locator("p.notice[role=status]")).to_contain_text("settled before")


def test_a_bad_upload_is_a_page_naming_the_file(page: Page, world: World) -> None:
    sign_in(page, world.served, world.served.operator)
    before = len(world.store.runs(TENANT))
    _upload(page, world, "b1", swap={"orders.csv": "warehouse.csv"})
    expect(page.locator("h1")).to_have_text("Invalid input")
    expect(page.locator("ul.issues")).to_contain_text("warehouse.csv")
    assert "Traceback" not in page.content()
    # Sent past the browser's checks: a month that is none, and no files but the contract.
    page.goto(world.served.url("/settlements/new"))
    form = page.locator("main form")
    hidden = {
        str(one.get_attribute("name")): str(one.get_attribute("value"))
        for one in form.locator("input[type=hidden]").all()
    }
    contract = FilePayload(
        name="contract.yaml",
        mimeType="text/yaml",
        buffer=(world.demo / "b1" / "contract.yaml").read_bytes(),
    )
    action = world.served.url("/settlements")
    bad_month = page.request.post(
        action, multipart={**hidden, "period": "2026-13", "contract": contract}
    )
    assert bad_month.status == 422 and "period" in bad_month.text()
    page.goto(world.served.url("/settlements/new"))
    hidden = {
        str(one.get_attribute("name")): str(one.get_attribute("value"))
        for one in form.locator("input[type=hidden]").all()
    }
    no_files = page.request.post(
        action, multipart={**hidden, "period": "2026-11", "contract": contract}
    )
    assert no_files.status == 422
    assert all(f"<code>{role}</code>" in no_files.text() for role in ("orders", "warehouse"))
    assert len(world.store.runs(TENANT)) == before


# --- limits and bad input ------------------------------------------------------------------


def test_a_brand_viewer_reads_its_brand_only(page: Page, world: World) -> None:
    sign_in(page, world.served, world.served.viewer_b1)
    page.goto(world.served.url("/settlements"))
    listed = page.locator("table.settlements tr[data-run]").all()
    assert world.runs["b1"] in {row.get_attribute("data-run") for row in listed}
    mine = [run.id for run in world.store.runs(TENANT, brand="b1")]
    assert [row.get_attribute("data-run") for row in listed] == mine  # b1's, no other's
    assert page.locator("text=Settle a month").count() == 0
    page.goto(world.url("b1"))
    expect(page.locator("table.exceptions")).to_be_visible()
    assert page.locator("a[data-resolve]").count() == 0  # no resolving for a reader
    for suffix in ("", "/bill.xlsx", "/files/orders/0", "/progress"):
        answer = page.request.get(world.url("b2", suffix))
        assert answer.status == 404, suffix
    assert page.request.get(world.served.url("/settlements?brand=b2")).status == 403
    record = "orders.csv:2"
    assert page.request.get(world.url("b1", "/resolve", record=record)).status == 403
    assert page.request.get(world.served.url("/settlements/new")).status == 403
    for path in ("/resolve", "/resolve/confirm"):
        refused = page.request.post(world.url("b1", path), form={"record": record, "note": "x"})
        assert refused.status == 403, path
    assert service.resolutions(world.store, TENANT, world.runs["b1"], None, record) == []


def test_bad_input_is_a_page_naming_the_field(page: Page, world: World) -> None:
    sign_in(page, world.served, world.served.operator)
    for path, status, named in (
        ("/settlements/nope", 422, "run_id"),
        (f"/settlements/{'0' * 32}", 404, "0" * 32),
        (f"/settlements/{world.runs['b1']}?outcome=lost", 422, "outcome"),
        (f"/settlements/{world.runs['b1']}?outcome=matched", 422, "outcome"),
        (f"/settlements/{world.runs['b1']}?page=0", 422, "page"),
        ("/settlements?period=2026-13", 422, "period"),
        (f"/settlements/{world.runs['b1']}/resolve?record=nowhere.csv:7", 422, "record"),
    ):
        answer = page.goto(world.served.url(path))
        assert answer is not None and answer.status == status, path
        expect(page.locator("main")).to_contain_text(named)
        assert "Traceback" not in page.content()
    # A record that matched has nothing to resolve.
    matched = service.outcomes_page(
        world.store, TENANT, world.runs["b1"], None, service.OutcomeFilter("matched"), 0, 1
    )["items"][0]["record"]
    page.goto(world.url("b1", "/resolve", record=matched))
    expect(page.locator("main")).to_contain_text("nothing to resolve")
    # A blank note, sent past the browser's own check: named, nothing recorded.
    record = "orders.csv:2"
    page.goto(world.url("b1", "/resolve", record=record))
    form = page.locator("main form")
    fields: dict[str, str | float | bool] = {
        str(one.get_attribute("name")): str(one.get_attribute("value"))
        for one in form.locator("input[type=hidden]").all()
    }
    action = world.served.base + (form.get_attribute("action") or "")
    blank = page.request.post(action, form={**fields, "note": "  "})
    assert blank.status == 422 and "note" in blank.text()
    page.goto(world.url("b1", "/resolve", record=record))
    fields = {
        str(one.get_attribute("name")): str(one.get_attribute("value"))
        for one in form.locator("input[type=hidden]").all()
    }
    nul = page.request.post(action, form={**fields, "note": "a\x00b"})
    assert nul.status == 422 and "note" in nul.text()
    assert service.resolutions(world.store, TENANT, world.runs["b1"], None, record) == []


def test_a_failed_run_shows_its_error_and_has_nothing_to_resolve(page: Page, world: World) -> None:
    uploads = [
        service.Upload(role, name, (world.demo / "b2" / name).read_bytes())
        for role, name in FILES["b2"]
    ]
    made = service.create_run(world.store, TENANT, "2026-10", uploads, "seed")
    error = "the control totals do not add up"  # as a failed re-check ends a run
    world.store.fail(TENANT, made.run.id, "control", error)
    sign_in(page, world.served, world.served.operator)
    run_url = world.served.url(f"/settlements/{made.run.id}")
    page.goto(run_url)
    expect(page.locator("[role=alert]")).to_contain_text(error)
    assert page.locator("table.exceptions").count() == 0
    expect(page.locator("a[data-file='wechat.csv']")).to_be_visible()  # its files stay
    assert page.request.get(run_url + "/bill.xlsx").status == 409
    answer = page.request.get(run_url + "/resolve?record=orders.csv:2")
    assert answer.status == 409 and "failed" in answer.text()


def test_the_next_month_shows_the_pending_pool_it_took(page: Page, world: World) -> None:
    """b1's December (tests/settlement/months.py: the orders held pending in November
    paid and shipped on its first day) takes November's pool; its page says so."""
    pending = service.outcomes_page(
        world.store, TENANT, world.runs["b1"], None, service.OutcomeFilter("pending"), 0, 100
    )["items"]
    files = december([(row["order_id"], row["amount"]) for row in pending])
    uploads = [service.Upload(role, name, data) for role, name, data in files]
    made = service.create_run(world.store, TENANT, "2026-12", uploads, "seed")
    run = service.execute(world.store, TENANT, made.run.id)
    assert run.carry_from == world.runs["b1"]
    sign_in(page, world.served, world.served.operator)
    page.goto(world.served.url(f"/settlements/{run.id}"))
    expect(page.locator("main")).to_contain_text(
        f"took in {len(pending)} records from run {world.runs['b1']}"
    )


def test_the_pages_in_chinese(page: Page, world: World) -> None:
    sign_in(page, world.served, world.served.operator)
    page.goto(world.served.url("/lang/zh?back=/console/settlements"))
    expect(page.locator("h1")).to_have_text("结算对账")
    page.goto(world.url("b1"))
    expect(page.locator("h1")).to_have_text("b1 的结算，2026-11")
