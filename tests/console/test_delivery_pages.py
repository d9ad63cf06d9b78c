"""Report recipients, schedules and the delivery log from the console in a real browser,
on a SQLite catalog database: recipients and schedules added through the forms (and
read back from the stores), removed after a confirmation, each form acted on once; bad
input (an address that is not one, a robot without its token, a day 32, a window that
ends before it starts) a page naming the field with the form filled in again; the
delivery log paged and filtered; a brand viewer reads its brand's deliveries only and
neither reads the recipients and schedules nor posts a form (as over the API)."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from engine.reports.delivery.log import Attempt, DeliveryLog
from engine.reports.delivery.message import Target
from engine.reports.recipients import RecipientStore
from engine.reports.schedules import CHINA, Firing, Schedule, ScheduleStore, firing_key
from engine.services.catalog import CatalogHandle
from tests.console.conftest import sign_in
from tests.console.served import TENANT, Served, serve_console

# The delivery log seeded: b1's attempts, then b2's, newest last; every fifth failed.
B1_ATTEMPTS, B2_ATTEMPTS = 70, 45
REFUSED = "RCPT TO: 550 5.1.1 no such mailbox"  # as the mail sender words a 5xx reply
WEBHOOK = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693axxxx-7aoc-4bc4"


@pytest.fixture(scope="module")
def handle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogHandle]:
    url = f"sqlite:///{tmp_path_factory.mktemp('deliveries') / 'omnistock.db'}"
    opened = CatalogHandle(url, migrate_now=True)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def served(handle: CatalogHandle) -> Iterator[Served]:
    """The console over a small demo with a catalog database whose delivery log holds
    attempts of two brands (as the send job records them)."""
    engine = handle.open().store.engine
    ticks = itertools.count()
    start = datetime(2026, 11, 13, 0, 5, tzinfo=UTC)
    log = DeliveryLog(engine, clock=lambda: start + timedelta(seconds=next(ticks)))
    for brand, count in (("b1", B1_ATTEMPTS), ("b2", B2_ATTEMPTS)):
        key = f"{TENANT}/{brand}/campaign/2026-11-10..2026-11-12"
        for n in range(count):
            target = Target("mail", f"ops{n}@{brand}.example")
            failed = n % 5 == 0
            attempt = Attempt("failed", REFUSED, 550) if failed else Attempt("sent")
            log.record(TENANT, brand, key, target, attempt)
    with serve_console(200, catalog=handle) as running:
        yield running


def _recipients(handle: CatalogHandle, brand: str) -> list[tuple[str, str, str]]:
    store = RecipientStore(handle.open().store.engine)
    return [(r.kind, r.target.channel, r.target.address) for r in store.recipients(TENANT, brand)]


def _schedules(handle: CatalogHandle, brand: str) -> list[Schedule]:
    return ScheduleStore(handle.open().store.engine).schedules(TENANT, brand)


def _add_recipient(page: Page, brand: str, channel: str, target: str, kind: str = "all") -> None:
    page.fill("#brand", brand)
    page.select_option("#kind", kind)
    page.select_option("#channel", channel)
    page.fill("#target", target)
    page.click("form.add button[type=submit]")


def _hidden_fields(page: Page, form: str) -> dict[str, str | float | bool]:
    return {
        str(field.get_attribute("name")): str(field.get_attribute("value"))
        for field in page.locator(f"{form} input[type=hidden]").all()
    }


# --- recipients -----------------------------------------------------------------------------


def test_recipients_are_added_listed_and_removed_after_a_confirmation(
    page: Page, served: Served, handle: CatalogHandle
) -> None:
    sign_in(page, served, served.operator)
    page.goto(served.url("/reports/recipients"))
    _add_recipient(page, "b3", "mail", "Ops@B3.Example", kind="campaign")
    expect(page.locator("[role=status]")).to_contain_text("Ops@b3.example will get the reports")
    _add_recipient(page, "b3", "wecom", WEBHOOK)
    rows = page.locator("table.recipients tbody tr")
    expect(rows).to_have_count(2)
    # Listed per brand and kind: "all" before "campaign"; the robot's token cut.
    assert (
        rows.nth(0).locator("td.target").inner_text()
        == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a***"
    )
    assert rows.nth(1).locator("td.target").inner_text() == "Ops@b3.example"
    assert "693axxxx" not in page.content()
    assert _recipients(handle, "b3") == [
        ("campaign", "mail", "Ops@b3.example"),
        ("all", "wecom", WEBHOOK),
    ]

    page.locator("table.recipients tr:has-text('Ops@b3.example') a.remove").click()
    expect(page.locator("h1")).to_have_text("Remove this recipient?")
    assert len(_recipients(handle, "b3")) == 2  # the review removes nothing
    fields = _hidden_fields(page, "main form")
    action = served.base + (page.locator("main form").get_attribute("action") or "")
    page.click("main form button[type=submit]")
    expect(page.locator("[role=status]")).to_contain_text("The recipient was removed")
    assert _recipients(handle, "b3") == [("all", "wecom", WEBHOOK)]
    again = page.request.post(action, form=fields)  # the confirmation sent twice
    assert again.status == 409 and "already sent" in again.text()


def test_a_bad_recipient_is_the_form_again_naming_the_field(
    page: Page, served: Served, handle: CatalogHandle
) -> None:
    sign_in(page, served, served.operator)
    page.goto(served.url("/reports/recipients"))
    _add_recipient(page, "b4", "mail", "buyer@")
    problem = page.locator("[role=alert] li[data-field=target]")
    expect(problem).to_contain_text("'buyer@' is not a mail address")
    assert page.locator("#target").get_attribute("aria-invalid") == "true"
    assert page.input_value("#target") == "buyer@" and page.input_value("#brand") == "b4"
    assert "Traceback" not in page.content()

    # A robot without its token; a secret for a mail address; a brand with a slash.
    _add_recipient(page, "b4", "wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send")
    expect(page.locator("[role=alert] li[data-field=target]")).to_contain_text("has no key=")
    page.fill("#secret", "SECabc")
    _add_recipient(page, "b4", "mail", "ops@b4.example")
    expect(page.locator("[role=alert] li[data-field=secret]")).to_contain_text("DingTalk")
    _add_recipient(page, "b4/x", "mail", "ops@b4.example")
    expect(page.locator("[role=alert] li[data-field=brand]")).to_be_visible()
    assert _recipients(handle, "b4") == []

    # The same recipient twice: a conflict naming the target, one stored.
    _add_recipient(page, "b4", "mail", "ops@b4.example")
    expect(page.locator("[role=status]")).to_be_visible()
    _add_recipient(page, "b4", "mail", "ops@b4.example")
    expect(page.locator("[role=alert] li[data-field=target]")).to_contain_text("already gets")
    assert _recipients(handle, "b4") == [("all", "mail", "ops@b4.example")]


def test_a_recipient_form_posted_twice_is_acted_on_once(
    page: Page, served: Served, handle: CatalogHandle
) -> None:
    sign_in(page, served, served.operator)
    page.goto(served.url("/reports/recipients"))
    form = {
        **_hidden_fields(page, "form.add"),
        "brand": "b5",
        "kind": "monthly",
        "channel": "mail",
        "target": "ceo@b5.example",
    }
    first = page.request.post(served.url("/reports/recipients"), form=form)
    assert first.ok and "ceo@b5.example will get the reports" in first.text()
    form["target"] = "cfo@b5.example"  # the same form again, even with another address
    second = page.request.post(served.url("/reports/recipients"), form=form)
    assert second.status == 409 and "already sent" in second.text()
    assert _recipients(handle, "b5") == [("monthly", "mail", "ceo@b5.example")]


def test_a_database_that_does_not_answer_is_a_page(
    page: Page, served: Served, handle: CatalogHandle
) -> None:
    sign_in(page, served, served.operator)
    page.goto(served.url("/reports/recipients"))
    # Another writer holds the database's write lock past the busy timeout (10 s).
    database = handle.open().store.engine.url.database
    assert database is not None
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with page.expect_response(served.url("/reports/recipients")) as answer:
            _add_recipient(page, "b9", "mail", "ops@b9.example")
        assert answer.value.status == 503
        expect(page.locator("main")).to_contain_text("DatabaseUnavailable")
        assert "Traceback" not in page.content()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert _recipients(handle, "b9") == []


def test_bad_ids_and_pages_are_pages_not_tracebacks(page: Page, served: Served) -> None:
    sign_in(page, served, served.operator)
    for path, status, named in (
        ("/reports/recipients/abc/remove", 422, "recipient_id"),
        ("/reports/recipients/999999/remove", 404, "recipient 999999 not found"),
        ("/reports/schedules/999999/remove", 404, "schedule 999999 not found"),
        ("/reports/deliveries?status=lost", 422, "query.status"),
        ("/reports/deliveries?page=0", 422, "query.page"),
    ):
        answer = page.goto(served.url(path))
        assert answer is not None and answer.status == status, path
        expect(page.locator("main")).to_contain_text(named)
        assert "Traceback" not in page.content()
    # A link naming what was "added" says nothing of what was not.
    for path in ("/reports/recipients?added=boss%40evil.example", "/reports/schedules?added=9999"):
        page.goto(served.url(path))
        assert page.locator("[role=status]").count() == 0, path


# --- schedules ------------------------------------------------------------------------------


def _add_schedule(page: Page, **fields: str) -> None:
    page.fill("#brand", fields.get("brand", "b6"))
    page.select_option("#rule", fields["rule"])
    for name in ("from", "to", "day", "label"):
        page.fill(f"#{name}", fields.get(name, ""))
    page.click("form.add button[type=submit]")


def test_schedules_are_added_with_their_next_firing_and_removed(
    page: Page, served: Served, handle: CatalogHandle
) -> None:
    sign_in(page, served, served.operator)
    page.goto(served.url("/reports/schedules"))
    _add_schedule(
        page, rule="after_window", label="Double-11", **{"from": "2099-11-10", "to": "2099-11-12"}
    )
    expect(page.locator("[role=status]")).to_contain_text("was added")
    row = page.locator("table.schedules tr:has-text('Double-11')")
    expect(row.locator("td.rule")).to_have_text("after 2099-11-10 – 2099-11-12 ends")
    # The day after the window's last day, as it starts in China.
    expect(row.locator("td.next")).to_have_text("2099-11-13 00:00 (UTC+8)")

    today = datetime.now(CHINA).date()
    day = 28 if today.day != 28 else 27
    send_on = today.replace(day=day)
    if send_on < today:  # this month's went before the schedule existed: next month's
        send_on = (today.replace(day=28) + timedelta(days=4)).replace(day=day)
    _add_schedule(page, rule="monthly", day=str(day), label="monthly")
    row = page.locator("table.schedules tr:has-text('monthly on day')")
    expect(row.locator("td.next")).to_have_text(f"{send_on} 00:00 (UTC+8)")

    stored = _schedules(handle, "b6")
    assert [(s.rule, s.kind, s.start, s.end, s.day, s.label) for s in stored] == [
        ("after_window", "campaign", date(2099, 11, 10), date(2099, 11, 12), None, "Double-11"),
        ("monthly", "monthly", None, None, day, "monthly"),
    ]
    page.locator(f"table.schedules tr[data-id='{stored[0].id}'] a.remove").click()
    expect(page.locator("dl.facts")).to_contain_text("Double-11")
    page.click("main form button[type=submit]")
    expect(page.locator("[role=status]")).to_contain_text("The schedule was removed")
    assert [s.id for s in _schedules(handle, "b6")] == [stored[1].id]


def test_a_schedule_whose_report_was_made_shows_its_last_firing(
    page: Page, served: Served, handle: CatalogHandle
) -> None:
    # A window still ahead (the server's tick leaves it be), its firing claimed and
    # finished as a worker would: the page shows no next firing and why the last failed.
    store = ScheduleStore(handle.open().store.engine)
    start, end = date(2099, 6, 1), date(2099, 6, 3)
    made = store.add(TENANT, "b8", "after_window", start=start, end=end)
    key = firing_key(TENANT, "b8", "campaign", start, end)
    firing = Firing(key, TENANT, "b8", "campaign", start, end, "zh", None, made.id)
    assert store.claim(firing, datetime.now(UTC), "test")
    store.finish(key, "failed", "no SMTP server is set")
    sign_in(page, served, served.operator)
    page.goto(served.url("/reports/schedules?brand=b8"))
    row = page.locator(f"table.schedules tr[data-id='{made.id}']")
    expect(row.locator("td.next")).to_have_text("none (its report was made)")
    expect(row.locator("td.last")).to_have_text(
        "2099-06-01 – 2099-06-03: failed · no SMTP server is set"
    )


def test_a_bad_schedule_names_the_field(page: Page, served: Served, handle: CatalogHandle) -> None:
    sign_in(page, served, served.operator)
    page.goto(served.url("/reports/schedules"))
    _add_schedule(page, brand="b7", rule="monthly", day="32")
    expect(page.locator("[role=alert] li[data-field=day]")).to_contain_text("28")
    assert page.locator("#day").get_attribute("aria-invalid") == "true"
    assert page.input_value("#day") == "32" and page.input_value("#rule") == "monthly"
    _add_schedule(
        page, brand="b7", rule="after_window", **{"from": "2099-11-12", "to": "2099-11-10"}
    )
    expect(page.locator("[role=alert] li[data-field=to]")).to_contain_text("before it starts")
    _add_schedule(page, brand="b7", rule="after_window", **{"from": "2099-11-10"})
    expect(page.locator("[role=alert] li[data-field=to]")).to_contain_text("last day")
    _add_schedule(
        page, brand="b7", rule="after_window", **{"from": "11/10/2099", "to": "2099-11-12"}
    )
    expect(page.locator("[role=alert] li[data-field=from]")).to_be_visible()
    assert "Traceback" not in page.content()
    assert _schedules(handle, "b7") == []


# --- the delivery log -----------------------------------------------------------------------


def _log_rows(page: Page) -> list[list[str]]:
    rows = page.locator("table.deliveries tbody tr")
    return [row.locator("td").all_inner_texts() for row in rows.all()]


def test_the_delivery_log_is_paged_and_filtered(page: Page, served: Served) -> None:
    sign_in(page, served, served.operator)
    page.goto(served.url("/reports/deliveries"))
    total = B1_ATTEMPTS + B2_ATTEMPTS
    expect(page.locator(".page-of")).to_have_text(f"Page 1 of 3 · {total} rows")
    first = _log_rows(page)
    assert len(first) == 50
    # Newest first: b2's last attempt (ops44, sent), in China time.
    assert first[0][:5] == [
        "2026-11-13 08:06",
        "b2",
        f"{TENANT}/b2/campaign/2026-11-10..2026-11-12",
        "mail",
        "ops44@b2.example",
    ]
    page.click("a[rel=next]")
    page.click("a[rel=next]")
    assert len(_log_rows(page)) == total - 100

    page.goto(served.url("/reports/deliveries"))
    page.fill("#brand", "b2")
    page.select_option("#status", "failed")
    page.click("main form button[type=submit]")
    failed = _log_rows(page)
    assert len(failed) == len(range(0, B2_ATTEMPTS, 5))
    assert {row[4] for row in failed} == {f"ops{n}@b2.example" for n in range(0, B2_ATTEMPTS, 5)}
    assert all(row[6:] == ["failed", "550", REFUSED] for row in failed)
    assert page.locator(".pager").count() == 0  # one page


# --- a brand viewer -------------------------------------------------------------------------


def test_a_brand_viewer_reads_its_brands_deliveries_only(
    page: Page, served: Served, handle: CatalogHandle
) -> None:
    sign_in(page, served, served.viewer_b1)
    page.goto(served.url("/reports/deliveries"))
    expect(page.locator(".page-of")).to_have_text(f"Page 1 of 2 · {B1_ATTEMPTS} rows")
    assert {row[1] for row in _log_rows(page)} == {"b1"}
    assert page.locator("#brand").count() == 0  # no brand to choose
    other = page.goto(served.url("/reports/deliveries?brand=b2"))
    assert other is not None and other.status == 403
    assert "b2.example" not in page.content()
    # Recipients and schedules are read with a whole-tenant key, as over the API.
    for path, why in (
        ("/reports/recipients", "limited to brand 'b1', not the whole tenant"),
        ("/reports/schedules", "limited to brand 'b1', not the whole tenant"),
        ("/reports/schedules/1/remove", "may only read"),
    ):
        answer = page.goto(served.url(path))
        assert answer is not None and answer.status == 403, path
        expect(page.locator("main")).to_contain_text(why)
    for path in ("/reports/recipients", "/reports/schedules", "/reports/recipients/1/remove"):
        posted = page.request.post(served.url(path), form={"brand": "b1", "target": "x@b1.example"})
        assert posted.status == 403, path
    assert _recipients(handle, "b1") == []


def test_the_pages_in_chinese(page: Page, served: Served) -> None:
    sign_in(page, served, served.operator)
    page.goto(served.url("/lang/zh?back=/console/reports/schedules"))
    expect(page.locator("h1")).to_have_text("报表计划")
    page.goto(served.url("/reports/deliveries?status=failed"))
    expect(page.locator("h1")).to_have_text("发送日志")
    expect(page.locator("table.deliveries td.outcome").first).to_have_text("失败")
