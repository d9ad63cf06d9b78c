"""Screenshots of the console's main pages for docs/ and the README, taken in Debian's
Chromium from the console served over the demo. Run: `python -m tests.console.screenshots
[--skus N] [--out docs] [--new]`; writes console-<page>.png (English) and
console-plan-zh.png; with --new only the scenario, shelf and report pages', over the demo
just after its Double-11 with a catalog database in a temporary folder."""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from engine.demo import build_demo
from engine.services.catalog import CatalogHandle
from engine.services.plan_jobs import plan_now_or_job
from engine.services.stores import StoreRegistry
from tests.console.served import TENANT, Served, launch, make_plan, serve_console


def _sign_in(page: Page, served: Served, key: str) -> None:
    page.goto(served.url("/sign-in"))
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_url(served.url("/plans"))


def take(served: Served, out: Path) -> list[Path]:
    plan_id = make_plan(served)
    written = []
    with sync_playwright() as driver:
        browser = launch(driver)
        context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
        page = context.new_page()

        def shot(name: str, full: bool = False) -> None:
            path = out / f"console-{name}.png"
            page.screenshot(path=str(path), full_page=full)
            written.append(path)

        page.goto(served.url("/sign-in"))
        shot("sign-in")
        _sign_in(page, served, served.operator)
        shot("plans")
        page.goto(served.url(f"/plans/{plan_id}?brand=b1"))
        shot("plan")
        page.goto(served.url(f"/plans/{plan_id}/skus/B1-0003"))
        shot("sku", full=True)
        page.goto(served.url(f"/plans/{plan_id}/warnings"))
        shot("warnings")
        page.goto(served.url(f"/plans/{plan_id}?brand=b1"))
        page.click("form.publish button")
        peak = plan_now_or_job(
            served.app.state.stores.get(TENANT),
            served.app.state.jobs,
            "peak",
            "now",
            served.app.state.settings,
        )
        assert isinstance(peak, dict)
        page.goto(served.url(f"/plans/{peak['plan_id']}/compare?brand=b1"))
        shot("compare")
        page.goto(served.url("/plans/new"))
        shot("make-plan")
        page.goto(served.url("/mode"))
        page.select_option("#mode", "peak")
        page.fill("#start", "2026-11-10T20:00:00+08:00")
        page.fill("#end", "2026-11-12T02:00:00+08:00")
        page.click("main button[type=submit]")
        shot("mode-confirm")
        page.goto(served.url(f"/lang/zh?back=/console/plans/{plan_id}%3Fbrand%3Db2"))
        shot("plan-zh")
        browser.close()
    return written


def take_new(served: Served, after: Served, out: Path) -> list[Path]:
    """The scenario and shelf pages on `served`, the report pages on `after` (the demo
    just after its Double-11): runs and builds made through the forms, as a person
    makes them."""
    make_plan(served)
    written = []
    with sync_playwright() as driver:
        browser = launch(driver)
        context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
        context.set_default_timeout(300_000)
        page = context.new_page()

        def shot(name: str, full: bool = False) -> None:
            path = out / f"console-{name}.png"
            page.screenshot(path=str(path), full_page=full)
            written.append(path)

        _sign_in(page, served, served.operator)
        page.goto(served.url("/scenarios"))
        page.select_option("#shipped", "double11")
        page.check("#small")
        shot("scenarios")
        page.click("main button[type=submit]")
        page.locator("figure.chart img, .problem").first.wait_for()
        shot("scenario", full=True)
        page.goto(served.url("/shelf?shop=tm-b1&slots=12"))
        shot("shelf")
        served = after
        _sign_in(page, served, served.operator)
        page.goto(served.url("/reports"))
        page.fill("#brand", "b1")
        page.fill("#from", "2026-11-10")
        page.fill("#to", "2026-11-12")
        page.select_option("#lang", "en")
        page.click("main form button[type=submit]")
        page.wait_for_url(re.compile(r".*/console/reports/[0-9a-f]+$"))
        page.locator(".downloads").wait_for()
        shot("report", full=True)
        page.goto(served.url("/reports"))
        shot("reports")
        browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=5000)
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--new", action="store_true", help="scenario, shelf and report pages")
    args = parser.parse_args()
    if not args.new:
        with serve_console(args.skus) as served:
            for path in take(served, args.out):
                print(path)
        return
    with tempfile.TemporaryDirectory() as folder:
        catalog = CatalogHandle(f"sqlite:///{folder}/omnistock.db", migrate_now=True)
        stores = StoreRegistry()
        snapshot, rules = build_demo(skus=args.skus, history_days=28, after_campaign=True)
        stores.get(TENANT).put_snapshot({**snapshot, "tenant": TENANT})
        stores.get(TENANT).put_ruleset(rules)
        with (
            serve_console(args.skus) as served,
            serve_console(args.skus, stores=stores, catalog=catalog) as after,
        ):
            for path in take_new(served, after, args.out):
                print(path)
        catalog.close()


if __name__ == "__main__":
    main()
