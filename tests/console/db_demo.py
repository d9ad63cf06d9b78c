"""A catalog database holding the demo's data for the console's database pages (catalog,
listings, settlements, report builds, recipients, schedules, the delivery log), for the
page-time and screenshot scripts beside it. Everything is made by the project's own demo
generators and services, as the tests of those pages make it: the demo catalog and shops
imported, the settlement demo's November settled for each brand, a listing job run
against the sandbox marketplace, recipients and schedules stored, a delivery log
recorded; report builds are drawn by the served console's job queue (`served_db`)."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import yaml
from sqlalchemy.engine import Engine

from engine.demo import build_demo
from engine.listing.accounts import Accounts
from engine.listing.jobstore import ListingStore
from engine.listing.sandbox import SandboxConfig
from engine.listing.sandbox.config import Limit, Review
from engine.reports.builds import BuildStatus, BuildStore
from engine.reports.delivery.log import Attempt, DeliveryLog
from engine.reports.recipients import RecipientStore
from engine.reports.schedules import CHINA, LAST_DAY, ScheduleStore, firing_key
from engine.services import catalog as catalog_service
from engine.services import listings as listing_service
from engine.services import reports as report_service
from engine.services import settlements as settlement_service
from engine.services.catalog import Catalog, CatalogHandle
from engine.services.stores import StoreRegistry
from engine.settlement.demo import write_settlement_demo
from engine.settlement.runstore import SettlementStore
from tests.console.served import TENANT, Served, serve_console
from tests.console.test_settlement_pages import _settle
from tests.listing.sandbox import running_sandbox

DEMO = Path(__file__).resolve().parents[2] / "scenarios" / "demo"
SETTLED = ("b1", "b2", "b3")  # the settlement demo's brands, b3's run the newest
LISTED_PRODUCTS = 12  # b1's first products, listed on each of its shops
CAMPAIGN = (date(2026, 11, 10), date(2026, 11, 12))  # the demo's Double-11
# The reports delivered, oldest first: the months June to October, then the Double-11.
DELIVERED = [
    *(
        ("monthly", date(2026, m, 1), date(2026, m + 1, 1) - timedelta(days=1))
        for m in (6, 7, 8, 9, 10)
    ),
    ("campaign", *CAMPAIGN),
]
SENT = Attempt("sent")
REFUSED = Attempt("failed", "RCPT TO: 550 5.1.1 no such mailbox", 550)
BUSY = Attempt("retry", "HTTP 429: too many requests", 429)
WEBHOOK = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=5b1e0c2a-demo-{brand}"


@dataclass
class DbDemo:
    """The database and what was made in it that a page is reached by."""

    url: str
    handle: CatalogHandle
    runs: dict[str, str]  # brand -> its November settlement run
    short: str  # a record of b1's run held amount_short (an order paid short)
    listing: str  # the listing job's id
    product: tuple[str, str]  # (brand, SPU code) of a product with issues

    @property
    def engine(self) -> Engine:
        return self.handle.open().store.engine


def _catalog(catalog: Catalog) -> tuple[str, str]:
    """The demo's shops and catalog imported (as tests/catalog/test_completeness_queries
    does); a product of b1 that some platform blocks."""
    shops = yaml.safe_load((DEMO / "shops.yaml").read_text())
    catalog_service.put_shops(catalog, TENANT, shops, "demo", "shops.yaml")
    catalog_service.import_file(catalog, TENANT, DEMO / "catalog.csv", "demo")
    blocked = next(row for row in catalog_service.completeness(catalog, TENANT, "b1") if not row.ok)
    return blocked.brand, blocked.spu_code


def _settlements(catalog: Catalog, folder: Path) -> tuple[dict[str, str], str]:
    """Each brand's demo November settled (as tests/console/test_settlement_pages does),
    and the first order b1 was paid short for."""
    write_settlement_demo(folder)
    store = SettlementStore(catalog.store.engine)
    runs = {brand: _settle(store, folder / "settlement", brand) for brand in SETTLED}
    wanted = settlement_service.OutcomeFilter(outcome="amount_short", source="orders")
    rows = settlement_service.outcomes_page(store, TENANT, runs["b1"], None, wanted, 0, 1)
    if not rows["items"]:
        raise RuntimeError("the settlement demo's b1 has no order paid short")
    return runs, str(rows["items"][0]["record"])


def _listing(catalog: Catalog) -> str:
    """b1's first products previewed and listed on its shops, run to the end against the
    sandbox marketplace (reviews end at once, room for every call): the job's id."""
    _, stored = catalog.store.list_products(TENANT, "b1", limit=LISTED_PRODUCTS)
    skus = [p.product.skus[0].sku_code for p in stored]
    preview = listing_service.preview_publish(catalog, TENANT, "b1", skus=skus)
    listings = ListingStore(catalog.store.engine)
    job = listing_service.create_job(listings, TENANT, preview, "demo", {})
    roomy = {p: {"*": Limit(per_second=1000)} for p in ("tmall", "jd", "douyin", "pdd")}
    config = SandboxConfig(review=Review(polls=0), limits=roomy)
    with running_sandbox(config) as root:
        place = listing_service.RunPlace(catalog.job_url, None, Accounts.sandbox(root))
        options = listing_service.RunOptions(settle_s=0.0)
        done = listing_service.run_job(place, TENANT, job.id, options)
    if done.status.value != "finished":
        raise RuntimeError(f"the demo listing job ended {done.status.value}")
    return job.id


def _deliveries(engine: Engine) -> None:
    """Per brand: recipients (a mailbox, one that is gone, a WeCom robot), a campaign
    schedule over a window still to come and a monthly one, and the delivery log of the
    reports of DELIVERED: the mailbox's taken at once, the gone one's (monthly) refused
    for good, the robot's (campaign) busy once then taken."""
    recipients, schedules = RecipientStore(engine), ScheduleStore(engine)
    targets = {}
    for n, brand in enumerate(SETTLED):
        mail = recipients.add(TENANT, brand, "mail", f"ops@{brand}.example")
        gone = recipients.add(TENANT, brand, "mail", f"finance-2025@{brand}.example", "monthly")
        robot = recipients.add(TENANT, brand, "wecom", WEBHOOK.format(brand=brand), "campaign")
        targets[brand] = mail.target, gone.target, robot.target
        # Windows and sending days the server's tick does not reach while a script runs:
        # a monthly schedule made on its day fires that day, so two days on or more.
        schedules.add(
            TENANT, brand, "after_window", start=date(2027, 11, 10), end=date(2027, 11, 12)
        )
        day = (datetime.now(CHINA).day + 1 + 3 * n) % LAST_DAY + 1
        schedules.add(TENANT, brand, "monthly", day=day, lang="en", label="month close")
    at = [datetime.now(UTC)]  # the log's clock, set to each attempt's time
    log = DeliveryLog(engine, clock=lambda: at[0])
    for kind, start, end in DELIVERED:
        # Sent five minutes into the day after the window (China time), 40 s apart.
        at[0] = datetime.combine(end + timedelta(days=1), clock_time(0, 5), CHINA)
        for brand in SETTLED:
            to_mail, to_gone, to_robot = targets[brand]
            key = firing_key(TENANT, brand, kind, start, end)
            tries = [(to_mail, SENT)]  # the mailbox of every kind
            if kind == "monthly":
                tries += [(to_gone, REFUSED)]
            else:
                tries += [(to_robot, BUSY), (to_robot, SENT)]
            for target, attempt in tries:
                log.record(TENANT, brand, key, target, attempt)
                at[0] += timedelta(seconds=40)


@contextmanager
def db_demo() -> Iterator[DbDemo]:
    """The demo database in a temporary folder, removed at the end."""
    with tempfile.TemporaryDirectory(prefix="omnistock-console-") as folder:
        url = f"sqlite:///{folder}/omnistock.db"
        handle = CatalogHandle(url, migrate_now=True)
        try:
            catalog = handle.open()
            product = _catalog(catalog)
            runs, short = _settlements(catalog, Path(folder) / "demo")
            listing = _listing(catalog)
            _deliveries(catalog.store.engine)
            yield DbDemo(url, handle, runs, short, listing, product)
        finally:
            handle.close()


def _builds(served: Served, brands: tuple[str, ...]) -> list[str]:
    """Each brand's Double-11 report built as the reports page builds it (figures now,
    files by the console's job queue), waited for: the builds' ids."""
    state = served.app.state
    catalog = state.catalog.open()
    builds = BuildStore(catalog.store.engine)
    made = []
    for brand in brands:
        report = report_service.report_of(
            state.stores.get(TENANT), catalog.store.engine, brand, *CAMPAIGN
        )
        record, _ = report_service.start_build(
            builds, state.jobs, report, "en", "demo", catalog.job_url
        )
        made.append(record.id)
    deadline = time.monotonic() + 300
    while any(builds.get(TENANT, one).status is not BuildStatus.DONE for one in made):
        if any(builds.get(TENANT, one).status is BuildStatus.FAILED for one in made):
            raise RuntimeError("a demo report build failed")
        if time.monotonic() > deadline:
            raise RuntimeError("the demo report builds did not end within 300 s")
        time.sleep(0.5)
    return made


@contextmanager
def served_db(skus: int) -> Iterator[tuple[Served, DbDemo, list[str]]]:
    """The console over the demo of `skus` SKUs just after its Double-11 (so a report
    has sales to show) and the demo database, with b1's and b2's reports built (their
    ids, the third)."""
    snapshot, rules = build_demo(skus=skus, history_days=28, after_campaign=True)
    stores = StoreRegistry()
    stores.get(TENANT).put_snapshot({**snapshot, "tenant": TENANT})
    stores.get(TENANT).put_ruleset(rules)
    with (
        db_demo() as demo,
        serve_console(skus, stores=stores, catalog=demo.handle, as_served=True) as served,
    ):
        yield served, demo, _builds(served, ("b1", "b2"))
