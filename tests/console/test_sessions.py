"""Sessions that end: by time, by a key revoked while signed in; and a sign-in form
that this console did not make. Each says so on the page."""

from __future__ import annotations

import re
import time
from dataclasses import replace

from playwright.sync_api import Page, expect

from api.console.session import COOKIE, SessionStore
from tests.console.conftest import TENANT, Served, sign_in


def _session_id(page: Page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == COOKIE)


def test_an_expired_session_asks_to_sign_in_and_returns_to_the_page(
    page: Page, served: Served, plan_id: str
) -> None:
    sign_in(page, served, served.operator)
    sessions: SessionStore = served.app.state.console.sessions
    session_id = _session_id(page)
    session = sessions.get(session_id)
    assert session is not None
    sessions.save(session_id, replace(session, expires_at=time.time() - 1))
    page.goto(served.url(f"/plans/{plan_id}?brand=b2"))
    expect(page.locator(".notice")).to_have_text("Your session has ended. Sign in again.")
    assert sessions.get(session_id) is None  # ended on the server too
    page.fill("#key", served.operator)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(served.url(f"/plans/{plan_id}")) + ".*"))
    expect(page.locator("h1")).to_contain_text("Brand b2")  # the page asked for, query too


def test_a_key_revoked_while_signed_in_ends_the_session(page: Page, served: Served) -> None:
    key, record = served.keys.create(TENANT, "operator")
    sign_in(page, served, key)
    served.keys.revoke(record.key_id)
    page.goto(served.url("/plans"))
    notice = page.locator(".notice")
    expect(notice).to_contain_text(f"Key {record.key_id} was revoked at ")
    expect(notice).to_contain_text("your session has ended. Sign in with another key.")
    page.fill("#key", key)
    page.click("button[type=submit]")
    expect(page.locator(".problem")).to_contain_text(f"key {record.key_id} was revoked at")


def test_a_sign_in_form_not_made_by_the_console_is_refused(page: Page, served: Served) -> None:
    page.goto(served.url("/sign-in"))
    # Another site's form: it cannot read or set the console's cookie.
    answer = page.request.post(
        served.url("/sign-in"), form={"key": served.operator, "_pre": "forged"}
    )
    assert answer.status == 400
    assert "The sign-in form has expired or was not made by this console." in answer.text()
    assert COOKIE not in {c["name"] for c in page.context.cookies()}
