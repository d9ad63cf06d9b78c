"""The FastAPI application factory: settings, error mapping and routers.

`omnistock serve` runs `served_app` in each worker process; `uvicorn api.app:create_app
--factory` runs it with the environment's settings. A new area adds a router in
api/routes/ and one `include_router` line here; a new job kind, one entry in JOB_KINDS.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI

from api import errors, observe
from api.console import mount_console
from api.console.web import compile_templates
from api.placement import CloseWhenOverShare, ConnectionShares
from api.routes import (
    access,
    audit,
    catalog,
    health,
    listings,
    mode,
    orders,
    plans,
    prices,
    publishing,
    reports,
    rulesets,
    scenarios,
    settlements,
    shelf,
    snapshots,
)
from api.routes import jobs as job_routes
from api.urls import API_PREFIX
from engine.access.rate_limit import RateLimiter
from engine.access.repository import KeyRepository, key_repository
from engine.core.settings import Settings
from engine.jobs.base import JobQueue
from engine.jobs.kinds import JobKind
from engine.jobs.queues import job_queue_for
from engine.jobs.ticks import RqTicker, ThreadTicker
from engine.runtime.process import prepare_process
from engine.scenarios.tasks import SCENARIO_JOB
from engine.services.catalog import CatalogHandle
from engine.services.listings import LISTING_JOB
from engine.services.plan_jobs import PLAN_JOB
from engine.services.reports import (
    REPORT_JOB,
    REPORT_SEND_JOB,
    TICK_NAME,
    fire_schedules,
    schedule_tick,
)
from engine.services.settlements import SETTLEMENT_JOB
from engine.services.stores import StoreRegistry, seed_demo, store_registry
from engine.store.redis_store import durability_gaps

# The kinds of job the service runs, each defined by its area. The queue is made with
# them; a job carries its kind to the process that runs it (engine/jobs/kinds.py).
JOB_KINDS: tuple[JobKind, ...] = (
    PLAN_JOB,
    SCENARIO_JOB,
    LISTING_JOB,
    SETTLEMENT_JOB,
    REPORT_JOB,
    REPORT_SEND_JOB,
)
# The areas whose routes are mounted under API_PREFIX, in the order the docs list them.
AREAS = (
    shelf,
    access,
    snapshots,
    rulesets,
    plans,
    publishing,
    orders,
    mode,
    job_routes,
    scenarios,
    catalog,
    prices,
    listings,
    settlements,
    reports,
    audit,
)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    # Shutdown: stop what the app made itself (job pool processes, store connections);
    # what the caller passed in is the caller's to close.
    for resource in app.state.owned:
        resource.close()


def create_app(
    settings: Settings | None = None,
    keys: KeyRepository | None = None,
    stores: StoreRegistry | None = None,
    jobs: JobQueue | None = None,
    catalog: CatalogHandle | None = None,
) -> FastAPI:
    """The app; `settings` default to the environment's (read here, once per process),
    `keys` to the key file (`settings.keys_file`), `stores` to one store per tenant in
    memory, or in Redis when `settings.redis_url` is set, and `jobs` likewise to a local
    process pool or RQ on that Redis. The per-key rate limit counts in that Redis too
    (shared by every worker), else in this process. The catalog is the relational
    database's at `settings.database()`, opened (and migrated, unless
    `migrate_at_start` is off) when first used. Request log lines go to stderr."""
    settings = settings or Settings()
    observe.configure_logging()
    app = FastAPI(
        lifespan=_lifespan,
        title=settings.title,
        summary="Inventory allocation, shelf ranking and stock checks for many shops.",
        version="0.1.0",
    )
    app.state.settings = settings
    app.state.keys = keys if keys is not None else key_repository(settings)
    if stores is None and settings.redis_url:
        _warn_if_redis_forgets(settings.redis_url)
    app.state.stores = (
        stores if stores is not None else store_registry(settings, settings.mode_max_age_s)
    )
    app.state.jobs = (
        jobs
        if jobs is not None
        else job_queue_for(
            app.state.stores, settings, JOB_KINDS, partial(prepare_process, settings)
        )
    )
    app.state.limiter = RateLimiter(
        settings.rate_limit_per_s,
        settings.rate_limit_burst,
        app.state.stores.redis_url,
    )
    app.state.catalog = catalog or CatalogHandle(settings.database(), settings.migrate_at_start)
    app.state.owned = [app.state.jobs] if jobs is None else []
    if stores is None:
        app.state.owned.append(app.state.stores)
    if catalog is None:
        app.state.owned.append(app.state.catalog)
    if settings.demo:
        seed_demo(app.state.stores)
    errors.install(app)
    observe.install(app)
    errors.install_body_limit(app, settings.max_body_bytes)
    for area in AREAS:
        app.include_router(area.router, prefix=API_PREFIX)
    app.include_router(health.router)
    mount_console(app)  # last: its catch-all page comes after every other route
    return app


def served_app(settings: Settings, shares: ConnectionShares | None = None) -> FastAPI:
    """An API worker process of `omnistock serve`: set up the process (it plans), then
    the app with the settings the command read. With `shares` (several workers), the
    worker takes its slot in them and closes a connection after its answer while it
    holds more than its fair share (api/placement.py)."""
    prepare_process(settings)
    app = create_app(settings)
    if shares is not None and shares.join():
        app.add_middleware(CloseWhenOverShare, shares=shares)
        app.state.owned.append(_LeaveShares(shares))
    # The database is migrated (or found behind) now, not at the first catalog request:
    # a server that cannot use its database says so as it starts.
    app.state.catalog.open()
    start_report_schedules(app, settings)
    warm_up(app)
    return app


# A serving process's youngest-generation collection threshold (Python's default: 700).
# A plan of 1,000 SKUs x 10 shops holds some 6,000 containers at once (its rows) and
# frees them after its answer: at 700 the collector ran about 9 young and 1 middle
# collection per plan (1.5-3 ms a plan, finding nothing to free); at 10,000 none in 20
# plans, while cyclic garbage still waits for at most 10,000 allocations.
SERVING_GC_THRESHOLD = 10_000


def warm_up(app: FastAPI, freeze: bool = True) -> None:
    """What a serving process does once before its first request: the console's
    templates compiled (no one's first view of a page compiles one), then everything
    alive - modules, the app, a demo's data - taken out of the cyclic collector's scans
    (`gc.freeze`, after a collection so that no garbage is kept): a full collection
    then walks only what requests and caches made since, not the whole start-up heap;
    and the young generation collected less often (SERVING_GC_THRESHOLD)."""
    compile_templates(app.state.console)
    if freeze:  # not in a test process that serves many apps, one after another
        gc.collect()
        gc.freeze()
        gc.set_threshold(SERVING_GC_THRESHOLD, *gc.get_threshold()[1:])


class _LeaveShares:
    """The worker's connection-count slot given back as the app's owned resources are
    closed at shutdown."""

    def __init__(self, shares: ConnectionShares) -> None:
        self.shares = shares

    def close(self) -> None:
        self.shares.leave()


class _StopTicker:
    """A ticker as the app's owned resources are closed at shutdown."""

    def __init__(self, ticker: ThreadTicker) -> None:
        self.ticker = ticker

    def close(self) -> None:
        self.ticker.stop()


def start_report_schedules(app: FastAPI, settings: Settings) -> None:
    """Fire the report schedules every `report_tick_s` (0: never, in this process). On
    Redis the tick is armed on RQ's scheduler and run by `omnistock worker` (arming it
    from every API worker makes one job per slot); on the embedded default a thread of
    this process runs it on the app's own stores. Either way each due report is claimed
    once in the database, so several servers never send one twice."""
    if settings.report_tick_s <= 0:
        return
    database = app.state.catalog.open().job_url
    every_s = settings.report_tick_s
    url = app.state.stores.redis_url
    if url:
        RqTicker(url, TICK_NAME, schedule_tick, {"database_url": database}, every_s).start()
        return
    stores: StoreRegistry = app.state.stores

    def tick(args: dict[str, Any]) -> None:
        fire_schedules(database, settings, stores.get)

    ticker = ThreadTicker(TICK_NAME, tick, {}, every_s)
    ticker.start()
    app.state.report_ticker = ticker
    app.state.owned.append(_StopTicker(ticker))


def _warn_if_redis_forgets(url: str) -> None:
    """Say at start when the deployment's Redis can lose acknowledged orders in a crash
    (the units would then be sold again): the README asks for appendfsync always."""
    for gap in durability_gaps(url):
        logging.getLogger("omnistock.api").warning(
            "Redis can lose acknowledged orders in a crash: %s (set appendonly yes and "
            "appendfsync always)",
            gap,
        )
