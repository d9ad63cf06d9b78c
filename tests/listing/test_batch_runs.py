"""A listing job's runs: killed with SIGKILL mid-way and resumed by another process with
nothing listed twice; cancelled and resumed; stopped by a shop's day quota and left to
resume; shops that cannot be reached named on every item."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter

from engine.core.errors import InputError
from engine.listing.accounts import Accounts, parse_accounts
from engine.listing.jobstore import ItemState, JobStatus, ListingStore
from engine.listing.sandbox import SandboxConfig
from engine.listing.sandbox.config import Limit, Review
from engine.services import listings
from engine.services.catalog import Catalog
from engine.services.listings import RunPlace
from tests.listing.conftest import PLATFORMS, connect_shop
from tests.listing.jobs import (
    BRAND,
    FAST,
    TENANT,
    database_url,
    import_products,
    new_job,
    place,
    products,
    read_all,
)
from tests.listing.sandbox import running_sandbox

ROOMY = {p: {"*": Limit(per_second=1000)} for p in PLATFORMS}


def _taken(store: ListingStore, job_id: str) -> int:
    """Items the platform has taken (accepted, in review or beyond)."""
    return sum(
        n
        for states in store.counts(TENANT, job_id).values()
        for state, n in states.items()
        if state not in (ItemState.PENDING.value, ItemState.SENT.value)
    )


def _done(store: ListingStore, job_id: str, state: ItemState = ItemState.ON_SALE) -> int:
    """Items in `state`."""
    return sum(states.get(state.value, 0) for states in store.counts(TENANT, job_id).values())


def test_a_run_killed_mid_way_is_resumed_and_nothing_is_listed_twice(catalog: Catalog) -> None:
    import_products(catalog, products(12))
    config = SandboxConfig(limits=ROOMY, review=Review(polls=1), fail_rate=0.1, seed=5)
    with running_sandbox(config) as root:
        job_id = new_job(catalog)
        store = ListingStore(catalog.store.engine)
        total = 12 * len(PLATFORMS)
        env = {**os.environ, "OMNISTOCK_DATABASE_URL": database_url(catalog)}
        # 10 calls a second a shop: the run takes some seconds, time to kill it.
        command = [
            sys.executable, "-m", "engine.cli", "listing", "resume", job_id,
            "--tenant", TENANT, "--sandbox", root, "--per-second", "10", "--settle", "2.5",
        ]  # fmt: skip
        run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while _taken(store, job_id) < total // 3:
            assert run.poll() is None, run.stdout.read() if run.stdout else ""
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(0.05)
        run.kill()
        run.wait()
        assert _taken(store, job_id) < total  # killed before the end
        assert store.job(TENANT, job_id).status == JobStatus.RUNNING  # it never said so

        job = listings.run_job(place(catalog, root), TENANT, job_id, FAST)
        assert job.status == JobStatus.FINISHED and job.runs == 2
        states = Counter(i.state for i in store.items(TENANT, job_id))
        assert states == {ItemState.ON_SALE: total}
        assert job.summary["readback"]["accuracy"] == 1.0
        assert job.calls > 0 and job.seconds > 0  # the killed run's work counted too
        for platform in PLATFORMS:
            outer = [i.outer_id for i in read_all(connect_shop(root, platform, f"{platform}-s1"))]
            assert len(outer) == len(set(outer)) == 12


def test_a_cancelled_job_stops_keeps_its_states_and_resumes(catalog: Catalog) -> None:
    import_products(catalog, products(10))
    with running_sandbox(SandboxConfig(limits=ROOMY, review=Review(polls=1))) as root:
        job_id = new_job(catalog)
        store = ListingStore(catalog.store.engine)
        slow = RunPlace(database_url(catalog), None, Accounts.sandbox(root, per_second=2))
        outcome: list[object] = []
        runner = threading.Thread(
            target=lambda: outcome.append(listings.run_job(slow, TENANT, job_id, FAST))
        )
        runner.start()
        while _done(store, job_id, ItemState.ACCEPTED) < 3:
            time.sleep(0.05)
        store.request_cancel(TENANT, job_id)
        runner.join(timeout=30)
        assert not runner.is_alive()
        stopped = store.job(TENANT, job_id)
        assert stopped.status == JobStatus.CANCELLED
        left = [i for i in store.items(TENANT, job_id) if i.state != ItemState.ON_SALE]
        assert left  # stopped before the end

        # Run again as it is, it stays cancelled; a resume clears the request first.
        again = listings.run_job(place(catalog, root), TENANT, job_id, FAST)
        assert again.status == JobStatus.CANCELLED and again.runs == 2
        store.clear_cancel(TENANT, job_id)
        job = listings.run_job(place(catalog, root), TENANT, job_id, FAST)
        assert job.status == JobStatus.FINISHED
        assert {i.state for i in store.items(TENANT, job_id)} == {ItemState.ON_SALE}


def test_a_used_up_day_quota_leaves_the_items_waiting_with_the_reason(catalog: Catalog) -> None:
    import_products(catalog, products(4))
    doc = {
        "accounts": {
            "sandbox": {
                "base_url": "{root}/{{platform}}",
                "app_key": "sandbox-app",
                "app_secret": "sandbox-secret",
                "limits": {"*": {"per_second": 1000}},
            }
        },
        "shops": {"pdd-s1": {"account": "sandbox", "limits": {"pdd.goods.add": {"per_day": 2}}}},
        "default_account": "sandbox",
    }
    with running_sandbox(SandboxConfig(limits=ROOMY, review=Review(polls=1))) as root:
        doc["accounts"]["sandbox"]["base_url"] = f"{root}/{{platform}}"  # type: ignore[index]
        capped = RunPlace(database_url(catalog), None, parse_accounts(doc))
        job_id = new_job(catalog)
        job = listings.run_job(capped, TENANT, job_id, FAST)
        assert job.status == JobStatus.INTERRUPTED
        assert "pdd.goods.add" in job.summary["stopped"]["pdd-s1"]
        store = ListingStore(catalog.store.engine)
        pdd = store.items(TENANT, job_id, shop="pdd-s1")
        assert Counter(i.state for i in pdd) == {ItemState.ON_SALE: 2, ItemState.PENDING: 2}
        waiting = [i for i in pdd if i.state == ItemState.PENDING]
        assert all("used up" in (i.reason or "") for i in waiting)
        others = [i for i in store.items(TENANT, job_id) if i.shop != "pdd-s1"]
        assert {i.state for i in others} == {ItemState.ON_SALE}


def test_shops_without_an_account_or_with_a_zero_quota_fail_every_item_by_name(
    catalog: Catalog,
) -> None:
    import_products(catalog, products(2))
    with running_sandbox(SandboxConfig(limits=ROOMY)) as root:
        job_id = new_job(catalog, shops=["jd-s1"])
        job = listings.run_job(
            RunPlace(database_url(catalog), None, Accounts.none()), TENANT, job_id, FAST
        )
        items = ListingStore(catalog.store.engine).items(TENANT, job_id)
        assert {i.state for i in items} == {ItemState.FAILED}
        assert all("shop jd-s1 has no marketplace account" in (i.reason or "") for i in items)
        assert job.calls == 0

        zero = RunPlace(database_url(catalog), None, Accounts.sandbox(root, per_second=0))
        job_id = new_job(catalog, shops=["jd-s1"])
        listings.run_job(zero, TENANT, job_id, FAST)
        items = ListingStore(catalog.store.engine).items(TENANT, job_id)
        assert {i.state for i in items} == {ItemState.FAILED}
        assert all("jd-s1" in (i.reason or "") and "per_second" in (i.reason or "") for i in items)


def test_the_brand_and_its_shops_and_skus_are_checked_by_name(catalog: Catalog) -> None:
    import_products(catalog, products(1))

    for kwargs, where in [
        ({"shops": ["nope"]}, "shops[0]"),
        ({"skus": ["X-1"]}, "skus[0]"),
    ]:
        try:
            listings.preview_publish(catalog, TENANT, BRAND, **kwargs)  # type: ignore[arg-type]
        except InputError as error:
            assert error.issues[0].path == where
        else:
            raise AssertionError(f"{kwargs} was not refused")
    try:
        listings.preview_publish(catalog, TENANT, "nobody")
    except InputError as error:
        assert "has no shops" in str(error)
    else:
        raise AssertionError("an unknown brand was not refused")
