"""The console served for real, for the browser tests and the scripts beside them
(page times, screenshots): the app with the console mounted, under uvicorn in a thread
on a free loopback port, the tenant "demo" holding the demo of a given size."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Playwright

from api.app import create_app, warm_up
from engine.access.repository import InMemoryKeyRepository, KeyRepository
from engine.core.settings import Settings
from engine.demo import build_demo
from engine.jobs.base import JobQueue
from engine.services.catalog import CatalogHandle
from engine.services.stores import StoreRegistry

TENANT = "demo"
CHROMIUM = "/usr/bin/chromium"  # Debian's (apt-get install chromium); never downloaded


@dataclass
class Served:
    """The running console: its base URL, app, keys and a key of each kind."""

    base: str
    app: FastAPI
    keys: KeyRepository
    operator: str
    viewer_b1: str

    def url(self, path: str) -> str:
        return self.base + "/console" + path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_console(
    demo_skus: int,
    stores: StoreRegistry | None = None,
    keys: KeyRepository | None = None,
    jobs: JobQueue | None = None,
    catalog: CatalogHandle | None = None,
    as_served: bool = False,
) -> Iterator[Served]:
    """The console on loopback over a demo of `demo_skus` SKUs (x its 10 shops) - in
    `stores` (in memory by default) unless the tenant has a snapshot there already.
    `as_served`: the process warmed up as `omnistock serve` warms its own (the page-time
    scripts); the tests only compile the templates."""
    keys = keys or InMemoryKeyRepository()
    operator, _ = keys.create(TENANT, "operator")
    viewer, _ = keys.create(TENANT, "brand_viewer", "b1")
    stores = stores or StoreRegistry()
    store = stores.get(TENANT)
    if store.stock_version() == 0:
        snapshot, rules = build_demo(skus=demo_skus)
        store.put_snapshot({**snapshot, "tenant": TENANT})
        store.put_ruleset(rules)
    settings = Settings(solver_time_limit_s=20.0, job_workers=1)
    # the console mounted
    app = create_app(settings, keys=keys, stores=stores, jobs=jobs, catalog=catalog)
    warm_up(app, freeze=as_served)
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start within 20 s")
        time.sleep(0.05)
    try:
        yield Served(f"http://127.0.0.1:{config.port}", app, keys, operator, viewer)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        for resource in app.state.owned:
            resource.close()


def make_plan(served: Served) -> str:
    """The plan of the demo's stock as it is now, made directly (not through a page)."""
    from engine.services.plan_jobs import plan_now_or_job

    state = served.app.state
    view = plan_now_or_job(state.stores.get(TENANT), state.jobs, None, "now", state.settings)
    assert isinstance(view, dict)
    return str(view["plan_id"])


def launch(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless, as root in a container can run it."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
    )
