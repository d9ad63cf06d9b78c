"""Two console servers on one Redis, as two API workers of a deployment: a session made
on one is good on the other, ended on one it is ended on both, and a form accepted by
one is not accepted again by the other. Keys in one key file, as `omnistock serve`
keeps them; a Redis server of the test's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from playwright.sync_api import Browser, Page, expect

from api.app import JOB_KINDS
from api.console.session import COOKIE, RedisSessions
from engine.access.repository import JsonFileKeyRepository
from engine.jobs.local import LocalJobs
from engine.services.stores import StoreRegistry
from engine.store.redis_store import RedisStore
from tests.console.conftest import sign_in
from tests.console.served import Served, serve_console
from tests.redis_server import RedisServer


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Served]]:
    folder = Path(tmp_path_factory.mktemp("workers"))
    server = RedisServer(folder).start()
    url = server.url

    def stores() -> StoreRegistry:
        return StoreRegistry(lambda tenant: RedisStore(tenant, url=url), redis_url=url)

    keys = JsonFileKeyRepository(folder / "keys.json")
    registries = [stores(), stores()]
    queues = [LocalJobs(r, JOB_KINDS, workers=1) for r in registries]
    try:
        with (
            serve_console(100, registries[0], keys, queues[0]) as first,
            serve_console(100, registries[1], keys, queues[1]) as second,
        ):
            yield first, second
    finally:
        for queue in queues:
            queue.close()
        server.stop()


def test_a_session_is_the_deployments_not_a_workers(
    browser: Browser, two_workers: tuple[Served, Served]
) -> None:
    first, second = two_workers
    assert isinstance(first.app.state.console.sessions, RedisSessions)
    context = browser.new_context(locale="en-US")
    try:
        page: Page = context.new_page()
        sign_in(page, first, first.operator)
        # The same browser (cookies are per host, not port) at the other worker.
        page.goto(second.url("/mode"))
        expect(page.locator("h1")).to_have_text("Mode")
        page.select_option("#mode", "peak")
        page.click("main button[type=submit]")
        fields = {
            i.get_attribute("name") or "": i.get_attribute("value") or ""
            for i in page.locator("form:has(button:has-text('Switch now')) input").all()
        }
        page.click("button:has-text('Switch now')")
        expect(page.locator(".done")).to_have_text("The mode is switched.")
        # The confirmation sent again, to the first worker: refused there too.
        again = page.request.post(first.url("/mode/confirm"), form=dict(fields))
        assert again.status == 409 and "already sent" in again.text()
        page.goto(first.url("/mode"))
        expect(page.locator("dd[data-mode]")).to_have_attribute("data-mode", "peak")
        # Signed out at the first worker: ended at the second as well (the old cookie
        # put back, as a copy of it kept elsewhere would be).
        cookie = next(c for c in context.cookies() if c["name"] == COOKIE)
        page.click("header button:has-text('Sign out')")
        context.add_cookies([{**cookie}])
        page.goto(second.url("/plans"))
        expect(page.locator(".notice")).to_have_text("Your session has ended. Sign in again.")
    finally:
        context.close()
    names = redis.Redis.from_url(first.app.state.stores.redis_url).keys("console:session:*")
    assert names == []  # the session is gone from Redis, not only from the cookie
