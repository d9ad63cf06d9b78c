"""A plan job followed in a real browser: the progress bar while it runs, the plan when
it is made; a job that fails says why on its page, never with a traceback."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from engine.demo import build_demo
from tests.console.conftest import Served, sign_in


def _tenant(served: Served, tenant: str, skus: int, extra_rules: list[dict[str, object]]) -> str:
    """A tenant of its own holding a demo of `skus` SKUs; an operator key of it."""
    store = served.app.state.stores.get(tenant)
    snapshot, rules = build_demo(skus=skus)
    store.put_snapshot({**snapshot, "tenant": tenant})
    store.put_ruleset({"rules": [*rules["rules"], *extra_rules]})
    key, _ = served.keys.create(tenant, "operator")
    return key


def test_the_progress_bar_follows_a_job_to_its_plan(page: Page, served: Served) -> None:
    # 3,000 SKUs x 10 shops: a job of a few seconds, long enough to be watched.
    key = _tenant(served, "slow", 3000, [])
    sign_in(page, served, key)
    page.goto(served.url("/plans/new"))
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/console/jobs/[^/]+$"))
    expect(page.locator("progress")).to_be_visible()
    expect(page.locator("[data-status]")).to_contain_text(re.compile(r"queued|running"))
    page.wait_for_url(re.compile(r".*/console/plans/plan-[0-9a-f]{16}$"), timeout=60_000)
    expect(page.locator(".page-of").first).to_contain_text("SKUs")


def test_a_failed_job_says_why(page: Page, served: Served) -> None:
    impossible: dict[str, object] = {
        "id": "r-too-many",
        "type": "fixed",
        "quantities": {"tm-b1": 10**6},
        "scope": {"skus": ["B1-0001"]},
    }
    key = _tenant(served, "conflicting", 100, [impossible])
    sign_in(page, served, key)
    page.goto(served.url("/plans/new"))
    page.click("main button[type=submit]")
    problem = page.locator(".problem")
    expect(problem).to_contain_text("The job failed:", timeout=60_000)
    expect(problem).to_contain_text("r-too-many")
    assert "Traceback" not in page.content()
