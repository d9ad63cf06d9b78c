"""Signing in and out in a real browser; the layout; errors as pages."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.console.conftest import Served, sign_in


def test_sign_in_shows_the_layout_and_sign_out_ends_the_session(page: Page, served: Served) -> None:
    page.goto(served.url("/plans"))
    # Not signed in: the sign-in page, saying why, and back to the page asked for after.
    expect(page.locator(".notice")).to_have_text("Sign in to use the console.")
    page.fill("#key", served.operator)
    page.click("button[type=submit]")
    page.wait_for_url(served.url("/plans"))
    key_id = served.operator.split("_")[1]
    expect(page.locator("header .key")).to_contain_text(f"Key {key_id} · operator")
    nav = ["Plans", "Shelf", "Reports", "Catalog", "Listings", "Settlements", "Make a plan"]
    nav += ["Mode", "Scenarios"]
    expect(page.locator("header nav a")).to_have_text(nav)
    cookie = next(c for c in page.context.cookies() if c["name"] == "omnistock_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/console"
    assert served.operator not in cookie["value"]  # the browser holds a session id only

    page.click("header button:has-text('Sign out')")
    expect(page.locator(".notice")).to_have_text("You have signed out.")
    # The old session id is dead on the server, not only forgotten by the browser.
    page.context.add_cookies([{**cookie}])
    page.goto(served.url("/plans"))
    expect(page.locator(".notice")).to_have_text("Your session has ended. Sign in again.")


def test_a_wrong_key_is_refused_with_its_reason(page: Page, served: Served) -> None:
    page.goto(served.url("/sign-in"))
    page.fill("#key", "osk_000000000000_nothing")
    page.click("button[type=submit]")
    expect(page.locator(".problem")).to_have_text("That key was not accepted: invalid key.")
    assert "omnistock_console" not in {c["name"] for c in page.context.cookies()}


def test_an_unknown_page_and_a_bad_parameter_are_pages_not_tracebacks(
    page: Page, served: Served
) -> None:
    sign_in(page, served, served.operator)
    answer = page.goto(served.url("/no-such-page"))
    assert answer is not None and answer.status == 404
    expect(page.locator("h1")).to_have_text("Not found")
    expect(page.locator(".problem")).to_have_text(
        "There is no console page at /console/no-such-page."
    )
    answer = page.goto(served.url("/plans/plan-0000/skus/X?page=x"))
    assert answer is not None and answer.status == 404
    expect(page.locator(".problem")).to_contain_text("plan-0000")
    answer = page.goto(served.url("/plans/plan-0000?page=not-a-number"))
    assert answer is not None and answer.status == 422
    expect(page.locator("ul.issues")).to_contain_text("page")
    assert "Traceback" not in page.content()


def test_the_interface_speaks_chinese_when_asked(page: Page, served: Served) -> None:
    sign_in(page, served, served.operator)
    page.click("header a.lang")
    expect(page.locator("header nav a").first).to_have_text("分配方案")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.click("header a.lang")
    expect(page.locator("header nav a").first).to_have_text("Plans")


def test_an_admin_key_signs_in_but_reads_no_stock(page: Page, served: Served) -> None:
    admin, _ = served.keys.create("demo", "admin")
    page.goto(served.url("/sign-in"))
    page.fill("#key", admin)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Not allowed")  # least privilege, as the API
    expect(page.locator(".problem")).to_contain_text("role admin may only")
