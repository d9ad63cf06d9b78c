"""Listing jobs of a tenant: what each one sends (worked out and checked before any
call), the job record with one item per product and shop, and the job kind that runs it
on either queue (engine/jobs).

Three kinds: `publish` lists a brand's catalog products on its shops; `stock` pushes a
published plan's quantities; `price` sets prices. Every item our own checks refuse - a
field the platform's schema refuses, a price below its floor, a payload over the
platform's size limit - is kept as `refused` with the field and the reason, and never
sent.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from engine.catalog.model import Product, effective_floor
from engine.catalog.prices.guard import check as guard_check
from engine.catalog.prices.guard import sku_arrays
from engine.catalog.prices.policy import PricePolicy, fen, parse_policy
from engine.catalog.shops import Shop
from engine.core.errors import InputError, Issue, OmnistockError
from engine.core.plan import Plan
from engine.core.settings import Settings
from engine.core.snapshot import ListedRow, Snapshot
from engine.core.snapshot import Shop as PlanShop
from engine.db.connect import connect
from engine.db.sessions import reading
from engine.jobs.base import JobAlreadyEnded, JobInfo, JobQueue
from engine.jobs.kinds import JobKind, Report
from engine.listing.accounts import Accounts, load_accounts
from engine.listing.adapters.shapes import SHAPES
from engine.listing.batch import (
    PRICE,
    PUBLISH,
    STOCK,
    BatchRun,
    RunOptions,
    read_back,
    read_shop,
)
from engine.listing.dryrun import DryItem, dry_run
from engine.listing.jobstore import (
    TERMINAL,
    ItemRecord,
    ItemState,
    JobRecord,
    JobStatus,
    ListingStore,
    NewItem,
)
from engine.listing.listed import listed_rows
from engine.listing.marketplace import ListedItem, ListingError
from engine.listing.pacing import Pacer, RedisPacer, SqlPacer
from engine.listing.reach import AccountsReach
from engine.listing.stockpush import PushPlan, sku_products, stock_updates, sync_thresholds
from engine.listing.tables import ListingItem, ListingJob
from engine.services.catalog import Catalog
from engine.store.base import JsonObject, Store
from engine.store.errors import StoreError
from rules.catalog import Ruleset

__all__ = [
    "LISTING_JOB",
    "JobRow",
    "ListingPreview",
    "MayStillRun",
    "cancellable",
    "create_job",
    "item_page",
    "job_rows",
    "preview_prices",
    "preview_publish",
    "resumable",
    "resume",
    "run_job",
    "submit_run",
]

# A payload above this many bytes is refused before sending: the platforms' gateways
# refuse request bodies of a few megabytes, and a listing is a few kilobytes.
MAX_PAYLOAD_BYTES = 1_000_000
KINDS = (PUBLISH, STOCK, PRICE)


@dataclass(frozen=True)
class ListingPreview:
    """What a job would send: its items (refused ones with the field and reason) and,
    for a listing, every payload as the dry run shows it."""

    kind: str
    brand: str
    items: list[NewItem]
    dry: list[DryItem]

    @property
    def refused(self) -> int:
        return sum(1 for item in self.items if item.refused_reason)

    def to_json(self, with_payloads: bool = True) -> JsonObject:
        return {
            "kind": self.kind,
            "brand": self.brand,
            "items": len(self.items),
            "refused": self.refused,
            "shops": sorted({item.shop for item in self.items}),
            "entries": [
                {
                    "shop": item.shop,
                    "outer_id": item.outer_id,
                    "platform": item.platform,
                    "refused": item.refused_reason is not None,
                    "field": item.refused_field,
                    "reason": item.refused_reason,
                    **({"intent": item.intent} if with_payloads else {}),
                }
                for item in self.items
            ],
        }


def _brand_shops(
    catalog: Catalog, tenant: str, brand: str, wanted: Sequence[str] | None
) -> list[Shop]:
    shops = [s for s in catalog.store.shops(tenant) if s.brand == brand]
    if not shops:
        message = f"brand {brand!r} has no shops: set them first (`omnistock catalog shops FILE`)"
        raise InputError([Issue("brand", message)], "listing")
    if wanted:
        known = {s.id for s in shops}
        unknown = [w for w in wanted if w not in known]
        if unknown:
            issues = [
                Issue(f"shops[{list(wanted).index(w)}]", f"{w!r} is not a shop of brand {brand}")
                for w in unknown
            ]
            raise InputError(issues, "listing")
        shops = [s for s in shops if s.id in set(wanted)]
    return shops


def _brand_products(
    catalog: Catalog, tenant: str, brand: str, skus: Sequence[str] | None
) -> list[Product]:
    products = [s.product for s in catalog.store.current(tenant, brand)]
    if not products:
        raise InputError(
            [Issue("brand", f"brand {brand!r} has no products in the catalog")], "listing"
        )
    if skus:
        wanted = set(skus)
        chosen = [p for p in products if any(s.sku_code in wanted for s in p.skus)]
        found = {s.sku_code for p in chosen for s in p.skus}
        unknown = [code for code in skus if code not in found]
        if unknown:
            issues = [
                Issue(f"skus[{list(skus).index(c)}]", f"no product of brand {brand} has SKU {c!r}")
                for c in unknown
            ]
            raise InputError(issues, "listing")
        products = chosen
    return products


def _policy(catalog: Catalog, tenant: str) -> PricePolicy | None:
    stored = catalog.store.price_policy(tenant)
    if stored is None:
        return None
    shops = [s.id for s in catalog.store.shops(tenant)]
    return parse_policy(stored.body, shops, f"price policy v{stored.version}")


def below_floor(
    catalog: Catalog,
    tenant: str,
    products: Sequence[Product],
    prices: Mapping[tuple[str, str], Decimal],
    at: datetime | None = None,
) -> dict[tuple[str, str], str]:
    """(shop, SKU) -> why its new price is refused: below the SKU's floor, or - under the
    tenant's price policy - a promotion stack would take it below. Checked before any
    call, so no price under a floor ever reaches a platform."""
    policy = _policy(catalog, tenant)
    refused: dict[tuple[str, str], str] = {}
    if policy is None:
        by_code = {s.sku_code: s for p in products for s in p.skus}
        for (shop, sku), price in prices.items():
            floor = effective_floor(by_code[sku], None) if sku in by_code else None
            if floor is not None and price < floor:
                refused[shop, sku] = f"price {price} of SKU {sku} is below its floor {floor}"
        return refused
    shops = [
        PlanShop(id=s.id, brand=s.brand, platform=s.platform)
        for s in catalog.store.shops(tenant)
        if s.id in {shop for shop, _ in prices}
    ]
    listed = {(sku, shop): fen(price) for (shop, sku), price in prices.items()}
    result = guard_check(
        sku_arrays(products, policy), shops, policy, at or datetime.now(UTC), listed
    )
    for row in result.rows:
        if row.status == "breach" and (row.shop, row.sku) in prices:
            refused[row.shop, row.sku] = (
                f"price {prices[row.shop, row.sku]} of SKU {row.sku} can reach {row.lowest} "
                f"on {row.shop}, below its floor {row.floor}"
            )
    return refused


def _payload_prices(platform: str, payload: Mapping[str, Any]) -> dict[str, Decimal]:
    shape = SHAPES[platform]
    found: dict[str, Decimal] = {}
    for sku in payload.get(shape.skus) or []:
        try:
            value = sku[shape.sku_price[0]]
        except (KeyError, TypeError):
            continue
        price = Decimal(int(value)) / 100 if shape.fen else Decimal(str(value))
        found[str(sku[shape.sku_code])] = price
    return found


def preview_publish(
    catalog: Catalog,
    tenant: str,
    brand: str,
    *,
    shops: Sequence[str] | None = None,
    skus: Sequence[str] | None = None,
    shop_stock: Mapping[str, Mapping[str, int]] | None = None,
) -> ListingPreview:
    """Every product of the brand (or those holding `skus`) x every shop of the brand (or
    `shops`): its payload, and whether our checks refuse it."""
    targets = _brand_shops(catalog, tenant, brand, shops)
    products = _brand_products(catalog, tenant, brand, skus)
    run = dry_run(products, targets, catalog.registry, shop_stock=shop_stock)
    prices = {
        (item.shop, sku): price
        for item in run.items
        if item.ok
        for sku, price in _payload_prices(item.platform, item.payload).items()
    }
    low = below_floor(catalog, tenant, products, prices)
    items: list[NewItem] = []
    for item in run.items:
        field, reason = _refusal(item, low)
        items.append(
            NewItem(
                shop=item.shop,
                outer_id=item.spu_code,
                platform=item.platform,
                intent=item.payload,
                refused_field=field,
                refused_reason=reason,
            )
        )
    return ListingPreview(PUBLISH, brand, items, run.items)


def _refusal(item: DryItem, low: Mapping[tuple[str, str], str]) -> tuple[str | None, str | None]:
    if item.issues:
        shown = "; ".join(f"{i.field}: {i.message}" for i in item.issues[:5])
        more = f" (and {len(item.issues) - 5} more)" if len(item.issues) > 5 else ""
        return item.issues[0].field, f"the {item.platform} schema refuses {shown}{more}"
    size = len(json.dumps(item.payload, ensure_ascii=False).encode())
    if size > MAX_PAYLOAD_BYTES:
        return "payload", f"a payload of {size} bytes; the limit is {MAX_PAYLOAD_BYTES}"
    for sku in _payload_prices(item.platform, item.payload):
        if (item.shop, sku) in low:
            return f"skus[{sku}].price", low[item.shop, sku]
    return None, None


def preview_prices(
    catalog: Catalog,
    tenant: str,
    brand: str,
    prices: Mapping[tuple[str, str], Decimal],
) -> ListingPreview:
    """A price update: per shop and product, the SKUs' new prices; a SKU whose price the
    guard refuses makes its item refused (nothing of it is sent)."""
    targets = {s.id: s for s in _brand_shops(catalog, tenant, brand, None)}
    products = _brand_products(catalog, tenant, brand, None)
    owner = {s.sku_code: p.spu_code for p in products for s in p.skus}
    issues = [
        Issue(f"prices[{n}]", f"{shop!r} is not a shop of brand {brand}")
        for n, (shop, _) in enumerate(prices)
        if shop not in targets
    ] + [
        Issue(f"prices[{n}].sku", f"no product of brand {brand} has SKU {sku!r}")
        for n, (_, sku) in enumerate(prices)
        if sku not in owner
    ]
    if issues:
        raise InputError(issues, "price update")
    low = below_floor(catalog, tenant, products, prices)
    grouped: dict[tuple[str, str], dict[str, str]] = {}
    refused: dict[tuple[str, str], tuple[str, str]] = {}
    for (shop, sku), price in sorted(prices.items()):
        key = (shop, owner[sku])
        grouped.setdefault(key, {})[sku] = f"{price:.2f}"
        if (shop, sku) in low and key not in refused:
            refused[key] = (f"prices.{sku}", low[shop, sku])
    items = [
        NewItem(
            shop=shop,
            outer_id=outer_id,
            platform=targets[shop].platform,
            intent={"prices": sku_prices},
            refused_field=refused.get((shop, outer_id), (None, None))[0],
            refused_reason=refused.get((shop, outer_id), (None, None))[1],
        )
        for (shop, outer_id), sku_prices in grouped.items()
    ]
    return ListingPreview(PRICE, brand, items, [])


# Held cells named in a stock push's job (all of them are counted by reason).
SHOWN_HELD = 200


def preview_stock(
    catalog: Catalog,
    listings: ListingStore,
    tenant: str,
    plan: Plan,
    snapshot: Snapshot,
    ruleset: Ruleset,
    brand: str | None = None,
) -> tuple[ListingPreview, PushPlan]:
    """A stock push of a published plan: per shop and product, the SKUs whose units
    changed since they were last sent (a rise below the cell's sync threshold is held,
    as the planner holds it), and every cell held back with its reason."""
    shops = {s.id: (s.brand, s.platform) for s in catalog.store.shops(tenant)}
    if brand is not None:
        shops = {shop: owner for shop, owner in shops.items() if owner[0] == brand}
        if not shops:
            message = f"brand {brand!r} has no shops in the catalog"
            raise InputError([Issue("brand", message)], "stock push")
    kept = [a for a in plan.allocations if a.shop in shops] if brand else plan.allocations
    plan = plan.model_copy(update={"allocations": kept})
    products = [stored.product for stored in catalog.store.current(tenant, brand)]
    last = listings.last_sent(tenant, {a.shop for a in plan.allocations})
    pushed = stock_updates(
        plan, sku_products(products), shops, last, sync_thresholds(snapshot, ruleset)
    )
    items = [NewItem(u.shop, u.outer_id, u.platform, {"stock": u.stock}) for u in pushed.updates]
    return ListingPreview(STOCK, brand or "*", items, []), pushed


def held_summary(pushed: PushPlan) -> JsonObject:
    """The held cells of a push, counted by reason, the first few named."""
    reasons: dict[str, int] = {}
    for cell in pushed.held:
        key = cell.reason.split(":")[0].split(" (")[0]
        reasons[key] = reasons.get(key, 0) + 1
    return {
        "held": len(pushed.held),
        "held_by_reason": dict(sorted(reasons.items())),
        "held_cells": [
            {"shop": h.shop, "sku": h.sku, "units": h.units, "last": h.last, "reason": h.reason}
            for h in pushed.held[:SHOWN_HELD]
        ],
    }


def create_job(
    listings: ListingStore,
    tenant: str,
    preview: ListingPreview,
    author: str,
    options: Mapping[str, Any],
) -> JobRecord:
    """The job of a preview, with every item, ready for a run."""
    if not preview.items:
        raise InputError([Issue("items", "nothing to send: no product x shop")], "listing")
    return listings.create_job(
        tenant,
        uuid.uuid4().hex,
        kind=preview.kind,
        brand=preview.brand,
        created_by=author,
        options=dict(options),
        items=preview.items,
    )


# --- running -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RunPlace:
    """Where a run finds its database, its limiter and the shops' accounts."""

    database_url: str
    redis_url: str | None
    accounts: Accounts

    @contextmanager
    def pacer(self, listings: ListingStore) -> Iterator[Pacer]:
        """The shared call limiter: in Redis when there is one, else in the database."""
        if self.redis_url:
            import redis

            client = redis.Redis.from_url(self.redis_url)
            try:
                yield RedisPacer(client)
            finally:
                client.close()
            return
        pacer = SqlPacer(listings.engine)
        try:
            yield pacer
        finally:
            pacer.dispose()


def run_job(
    place: RunPlace,
    tenant: str,
    job_id: str,
    options: RunOptions | None = None,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
) -> JobRecord:
    """Run (or resume) a job until every item is done, it is cancelled, or its shops
    cannot go on; the job record at the end."""
    listings = ListingStore(connect(place.database_url))
    try:
        reach = AccountsReach(place.accounts)
        with place.pacer(listings) as pacer:
            return BatchRun(listings, tenant, job_id, reach, pacer, options, on_progress).run()
    finally:
        listings.dispose()


def refresh(place: RunPlace, tenant: str, job_id: str) -> JsonObject:
    """A read-back of the job's items now (accuracy, every difference)."""
    listings = ListingStore(connect(place.database_url))
    try:
        reach = AccountsReach(place.accounts)
        with place.pacer(listings) as pacer:
            return read_back(listings, tenant, job_id, reach, pacer)
    finally:
        listings.dispose()


def job_view(
    listings: ListingStore,
    tenant: str,
    job_id: str,
    counts: Mapping[str, Mapping[str, int]] | None = None,
) -> JsonObject:
    """A job with its progress: items done of all, per shop and state (`counts`, the
    store's, when the caller has them already: a grouped read of every item)."""
    job = listings.job(tenant, job_id)
    if counts is None:
        counts = listings.counts(tenant, job_id)
    total = sum(sum(c.values()) for c in counts.values())
    done = sum(n for c in counts.values() for state, n in c.items() if state in TERMINAL)
    per_shop = {
        shop: {
            "done": sum(n for state, n in c.items() if state in TERMINAL),
            "total": sum(c.values()),
            "states": dict(sorted(c.items())),
        }
        for shop, c in sorted(counts.items())
    }
    return {**job.to_json(), "progress": {"done": done, "total": total, "shops": per_shop}}


# Until its run ends, a job in one of these may still have a run on the way.
MAY_RUN = (JobStatus.QUEUED, JobStatus.RUNNING)
# What a list of jobs counts of each job's items: done well, failed (the platform or its
# review refused, or still failing after every retry) and held (our own checks refused
# it: never sent). The rest are still open.
SUCCEEDED = frozenset({ItemState.ON_SALE, ItemState.UPDATED})
UNSUCCESSFUL = frozenset({ItemState.REJECTED, ItemState.FAILED})
HELD = frozenset({ItemState.REFUSED})


@dataclass(frozen=True)
class JobRow:
    """A job as a list of jobs shows it: the record, the shops its items go to, and its
    items counted."""

    job: JobRecord
    shops: list[str]
    total: int
    done: int
    failed: int
    held: int

    @property
    def open(self) -> int:
        return self.total - self.done - self.failed - self.held


def job_rows(
    listings: ListingStore, tenant: str, brand: str | None, offset: int, limit: int
) -> tuple[int, list[JobRow]]:
    """The tenant's jobs (or one brand's), newest first, a page at a time: how many there
    are, and the page's jobs with their items counted by two grouped queries over the
    items' indexes (a job of 50,000 items is counted, never read)."""
    scope = [ListingJob.tenant == tenant]
    if brand is not None:
        scope.append(ListingJob.brand == brand)
    with reading(listings.engine) as session:
        total = int(session.scalar(select(func.count()).select_from(ListingJob).where(*scope)) or 0)
    records = listings.jobs(tenant, brand, offset + limit)[offset:]
    ids = [job.id for job in records]
    states: dict[str, dict[str, int]] = {}
    shops: dict[str, list[str]] = {}
    if ids:
        mine = (ListingItem.tenant == tenant, ListingItem.job_id.in_(ids))
        by_state = (
            select(ListingItem.job_id, ListingItem.state, func.count())
            .where(*mine)
            .group_by(ListingItem.job_id, ListingItem.state)
        )
        by_shop = (
            select(ListingItem.job_id, ListingItem.shop)
            .where(*mine)
            .distinct()
            .order_by(ListingItem.job_id, ListingItem.shop)
        )
        with reading(listings.engine) as session:
            for job_id, state, count in session.execute(by_state):
                states.setdefault(job_id, {})[state] = int(count)
            for job_id, shop in session.execute(by_shop):
                shops.setdefault(job_id, []).append(shop)

    def counted(job_id: str, kinds: frozenset[ItemState]) -> int:
        return sum(n for state, n in states.get(job_id, {}).items() if state in kinds)

    rows = [
        JobRow(
            job=job,
            shops=shops.get(job.id, []),
            total=sum(states.get(job.id, {}).values()),
            done=counted(job.id, SUCCEEDED),
            failed=counted(job.id, UNSUCCESSFUL),
            held=counted(job.id, HELD),
        )
        for job in records
    ]
    return total, rows


def item_page(
    listings: ListingStore,
    tenant: str,
    job_id: str,
    *,
    state: ItemState | None,
    shop: str | None,
    offset: int,
    limit: int,
    counts: Mapping[str, Mapping[str, int]] | None = None,
) -> tuple[int, list[ItemRecord]]:
    """A page of the job's items, by shop and product, optionally of one state or one
    shop, and how many items there are of that state and shop (from the store's counts,
    or `counts` when the caller has them already)."""
    if counts is None:
        counts = listings.counts(tenant, job_id)
    total = sum(
        n
        for at, per_state in counts.items()
        if shop in (None, at)
        for held, n in per_state.items()
        if state in (None, held)
    )
    items = listings.items(
        tenant,
        job_id,
        states=None if state is None else [state],
        shop=shop,
        offset=offset,
        limit=limit,
    )
    return total, items


class MayStillRun(StoreError):
    """A resume of a job whose status says a run may still be on the way."""

    def __init__(self, job_id: str, status: str) -> None:
        self.job_id = job_id
        self.status = status
        self.message = (
            f"listing job {job_id!r} is {status}: a run may be on the way; "
            'send {"force": true} if it is known to be dead'
        )
        super().__init__(self.message)


def cancellable(listings: ListingStore, tenant: str, job_id: str) -> JobRecord:
    """The job, if a cancel can stop it: JobAlreadyEnded once it has finished (a
    cancelled or interrupted job keeps open items a resume would send)."""
    job = listings.job(tenant, job_id)
    if job.status == JobStatus.FINISHED:
        raise JobAlreadyEnded(job_id, job.status.value)
    return job


def resumable(listings: ListingStore, tenant: str, job_id: str, force: bool) -> JobRecord:
    """The job, if a resume may hand it to the queue: MayStillRun while it is queued or
    running, unless `force` (its run is known to be dead: a run killed with its process
    leaves "running")."""
    job = listings.job(tenant, job_id)
    if job.status in MAY_RUN and not force:
        raise MayStillRun(job_id, job.status.value)
    return job


def resume(
    listings: ListingStore,
    jobs: JobQueue,
    settings: Settings,
    job_url: str,
    tenant: str,
    job_id: str,
) -> JobInfo:
    """Run the job again from where it stopped: a cancel asked for is forgotten, and its
    open items go to the queue's run (nothing is listed twice: batch.py)."""
    listings.clear_cancel(tenant, job_id)
    return submit_run(jobs, settings, job_url, tenant, job_id)


# --- the job kind (engine/jobs) ----------------------------------------------------------


def job_args(
    database_url: str,
    redis_url: str | None,
    accounts_file: Path | None,
    listing_id: str,
    settle_s: float = RunOptions().settle_s,
) -> JsonObject:
    """What a run needs to find its database, limiter and accounts (a worker process
    reads no settings of its own)."""
    return {
        "database_url": database_url,
        "redis_url": redis_url,
        "accounts_file": str(accounts_file) if accounts_file else None,
        "listing_id": listing_id,
        "settle_s": settle_s,
    }


def _prepare(store: Store, args: JsonObject) -> JsonObject:
    return {**args, "tenant": store.tenant}


def _run(args: JsonObject, report: Report) -> JsonObject:
    file = args.get("accounts_file")
    accounts = load_accounts(Path(file)) if file else Accounts.none()
    place = RunPlace(args["database_url"], args.get("redis_url"), accounts)

    def progress(counts: dict[str, Any]) -> None:
        total = sum(sum(c.values()) for c in counts.values())
        done = sum(n for c in counts.values() for state, n in c.items() if state in TERMINAL)
        report("listing", done, max(total, 1))

    options = RunOptions(settle_s=float(args.get("settle_s", RunOptions().settle_s)))
    job = run_job(place, args["tenant"], args["listing_id"], options, progress)
    return {"listing_id": job.id, "status": job.status.value, "summary": job.summary}


def _finish(store: Store, outcome: JsonObject, job_id: str) -> JsonObject:
    return outcome


LISTING_JOB = JobKind("listing", _prepare, _run, _finish)


def submit_run(
    jobs: JobQueue, settings: Settings, job_url: str, tenant: str, job_id: str
) -> JobInfo:
    """Hand the listing job to the job queue, whose run opens the catalog's database at
    `job_url` and the settings' marketplace accounts."""
    args = job_args(
        job_url,
        settings.redis_url,
        settings.marketplaces_file,
        job_id,
        settings.listing_settle_s,
    )
    return jobs.submit(tenant, LISTING_JOB.name, args)


# --- listed stock read back ----------------------------------------------------------------


@dataclass(frozen=True)
class ListedRead:
    """What the shops hold, read now: the snapshot's `listed` rows of the shops read,
    the shops that could not be read (why), and the rows of SKUs or shops the snapshot
    does not know (left out of the check, counted)."""

    rows: list[ListedRow]
    shops: list[str]
    unread: dict[str, str]
    outside: int


def read_listed(
    place: RunPlace, catalog: Catalog, tenant: str, snapshot: Snapshot, brand: str | None = None
) -> ListedRead:
    """Read every catalog shop of the snapshot (or of `brand`) from its platform, paced
    like any other call; each shop's read retried on what passes with time."""
    known_skus = {s.id: s.brand for s in snapshot.skus}
    known_shops = {s.id: s.brand for s in snapshot.shops}
    shops = [
        s
        for s in catalog.store.shops(tenant)
        if s.id in known_shops and (brand is None or s.brand == brand)
    ]
    reach = AccountsReach(place.accounts)
    items: list[ListedItem] = []
    unread: dict[str, str] = {}
    listings = ListingStore(connect(place.database_url))
    try:
        with place.pacer(listings) as pacer:
            for shop in shops:
                try:
                    items += read_shop(reach, pacer, shop.id, shop.platform)
                except (OmnistockError, ListingError) as error:
                    unread[shop.id] = str(error)
    finally:
        listings.dispose()
    read = [s.id for s in shops if s.id not in unread]
    rows = listed_rows(items, read)
    fits = [
        r
        for r in rows
        if known_skus.get(r.sku) is not None and known_skus[r.sku] == known_shops[r.shop]
    ]
    return ListedRead(fits, read, unread, len(rows) - len(fits))
