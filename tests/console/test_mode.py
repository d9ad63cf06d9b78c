"""The peak switch in a real browser: review, confirm, who switched it when, and back;
a changed hidden field or a form sent twice does nothing (and says so)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from engine.services import mode_switch
from tests.console.conftest import TENANT, Served, sign_in


def _confirm_fields(page: Page) -> dict[str, str | float | bool]:
    inputs = page.locator("form:has(button:has-text('Switch now')) input[type=hidden]")
    fields: dict[str, str | float | bool] = {}
    for field in inputs.all():
        fields[field.get_attribute("name") or ""] = field.get_attribute("value") or ""
    return fields


def test_switch_to_peak_with_confirmation_and_back(page: Page, served: Served) -> None:
    store = served.app.state.stores.get(TENANT)
    sign_in(page, served, served.operator)
    page.click("header nav a:has-text('Mode')")
    expect(page.locator("dd[data-effective]")).to_have_attribute("data-effective", "normal")
    page.select_option("#mode", "peak")
    page.fill("#start", "2026-11-10T20:00:00+08:00")
    page.click("main button[type=submit]")
    # The review step: nothing is switched until it is confirmed.
    expect(page.locator("h1")).to_have_text("Confirm the switch")
    expect(page.locator(".confirm")).to_have_text("Switch the tenant demo to peak (Double-11)?")
    assert mode_switch.get_mode(store)["mode"] == "normal"
    fields = _confirm_fields(page)
    page.click("button:has-text('Switch now')")
    expect(page.locator(".done")).to_have_text("The mode is switched.")
    expect(page.locator("dd[data-mode]")).to_have_attribute("data-mode", "peak")
    expect(page.locator(".window")).to_contain_text("2026-11-10T20:00:00+08:00")
    key_id = served.operator.split("_")[1]
    expect(page.locator(".last")).to_contain_text(f"Last switched by key {key_id} (operator) at ")
    assert mode_switch.get_mode(store)["effective"] == "peak"

    # The confirmation sent again (a resend, the back button): refused, done once.
    again = page.request.post(served.url("/mode/confirm"), form=fields)
    assert again.status == 409
    assert "This form was already sent. Nothing was done a second time." in again.text()
    switches = [e for e in store.audit_entries(50) if e["route"] == "/console/mode/confirm"]
    assert [e["status"] for e in switches] == [409, 303]

    # And back to normal, the same way.
    page.select_option("#mode", "normal")
    page.click("main button[type=submit]")
    page.click("button:has-text('Switch now')")
    expect(page.locator("dd[data-effective]")).to_have_attribute("data-effective", "normal")
    assert mode_switch.get_mode(store) == {
        "mode": "normal",
        "start": None,
        "end": None,
        "effective": "normal",
    }


def test_a_changed_hidden_field_is_refused(page: Page, served: Served) -> None:
    store = served.app.state.stores.get(TENANT)
    sign_in(page, served, served.operator)
    page.goto(served.url("/mode"))
    page.select_option("#mode", "normal")
    page.click("main button[type=submit]")
    # Reviewed "normal"; the hidden field is changed to "peak" in the browser.
    page.eval_on_selector("input[type=hidden][name=mode]", "e => e.value = 'peak'")
    page.click("button:has-text('Switch now')")
    expect(page.locator(".problem")).to_have_text(
        "This form was changed after the page made it, or it belongs to another session. "
        "Nothing was done. Reload the page and try again."
    )
    assert mode_switch.get_mode(store)["mode"] == "normal"


def test_a_form_of_another_session_or_without_token_is_refused(page: Page, served: Served) -> None:
    sign_in(page, served, served.operator)
    page.goto(served.url("/mode"))
    page.select_option("#mode", "peak")
    page.click("main button[type=submit]")
    fields = _confirm_fields(page)
    # A second browser, signed in with the same key, sends the first one's form.
    other = page.context.browser.new_context()  # type: ignore[union-attr]
    try:
        other_page = other.new_page()
        sign_in(other_page, served, served.operator)
        answer = other_page.request.post(served.url("/mode/confirm"), form=fields)
        assert answer.status == 400 and "belongs to another session" in answer.text()
        bare = other_page.request.post(served.url("/mode/confirm"), form={"mode": "peak"})
        assert bare.status == 400 and "This form has no security token." in bare.text()
    finally:
        other.close()
    store = served.app.state.stores.get(TENANT)
    assert mode_switch.get_mode(store)["mode"] == "normal"


def test_a_brand_viewer_cannot_read_or_switch_the_mode(page: Page, served: Served) -> None:
    sign_in(page, served, served.viewer_b1)
    answer = page.goto(served.url("/mode"))
    assert answer is not None and answer.status == 403
    expect(page.locator(".problem")).to_contain_text("limited to brand 'b1'")
    posted = page.request.post(served.url("/mode/confirm"), form={"mode": "peak"})
    assert posted.status == 403
