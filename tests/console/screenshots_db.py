"""Screenshots of the console's pages on the catalog's database, for docs/ and the
README: the catalog, listings, settlements, recipients, schedules and the delivery log,
taken in Debian's Chromium from the console served over the demo and the demo database
(tests/console/db_demo.py). Run: `python -m tests.console.screenshots_db [--skus N]
[--out docs]`; writes console-<page>.png (English) and prints each path."""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import ViewportSize, sync_playwright

from tests.console.conftest import sign_in
from tests.console.db_demo import DbDemo, served_db
from tests.console.served import Served, launch

VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
TALL: ViewportSize = {
    "width": 1400,
    "height": 1600,
}  # a run: its summary, bill and first exceptions


def shots(demo: DbDemo) -> list[tuple[str, str, ViewportSize]]:
    """(name, console path, viewport) of each screenshot."""
    brand, spu = demo.product
    run = f"/settlements/{demo.runs['b1']}"
    return [
        ("catalog", "/catalog", VIEWPORT),
        ("catalog-product", f"/catalog/{brand}/{spu}", VIEWPORT),
        ("listings", "/listings", VIEWPORT),
        ("listing", f"/listings/{demo.listing}", VIEWPORT),
        ("settlements", "/settlements", VIEWPORT),
        ("settlement", run, TALL),
        ("settlement-resolve", f"{run}/resolve?record={demo.short}", VIEWPORT),
        ("recipients", "/reports/recipients", VIEWPORT),
        ("schedules", "/reports/schedules", VIEWPORT),
        ("deliveries", "/reports/deliveries", VIEWPORT),
    ]


def take(served: Served, demo: DbDemo, out: Path) -> list[Path]:
    written = []
    with sync_playwright() as driver:
        browser = launch(driver)
        context = browser.new_context(locale="en-US", viewport=VIEWPORT)
        page = context.new_page()
        sign_in(page, served, served.operator)
        for name, path, size in shots(demo):
            page.set_viewport_size(size)
            answer = page.goto(served.url(path))
            # A page that is an error is no screenshot of it.
            if answer is None or answer.status != 200:
                raise RuntimeError(f"{path}: {answer.status if answer else 'no answer'}")
            page.wait_for_load_state("networkidle")
            file = out / f"console-{name}.png"
            page.screenshot(path=str(file))
            written.append(file)
        browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=5000)
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args()
    with served_db(args.skus) as (served, demo, _):
        for path in take(served, demo, args.out):
            print(path)


if __name__ == "__main__":
    main()
