"""`omnistock listing bench`: the demo catalog listed on the sandbox marketplace under
faults and a quota, its runs killed once mid-way and resumed, then read back.

Everything is real: the sandbox runs as its own process (`omnistock sandbox serve`) on
loopback, each brand's job runs in an `omnistock listing resume` process of its own
(as workers would), the runs are killed with SIGKILL, and new processes resume them
from the database. The throughput is set against the limit the quota puts on it: with
Q calls a second per shop and S shops, no lister can make more than Q x S calls a
second, so calls/s / (Q x S) is the share of the quota used, and items/s / (Q x S) the
items listed per call the quota allows.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from engine.catalog.demo import write_catalog
from engine.cli.common import err
from engine.core.settings import child_environment
from engine.demo import DEFAULT_SEED, build_demo
from engine.listing.accounts import parse_accounts
from engine.listing.adapters.shapes import PLATFORMS
from engine.listing.batch import read_shop
from engine.listing.jobstore import TERMINAL, ItemState, ListingStore
from engine.listing.pacing import MemoryPacer
from engine.listing.reach import AccountsReach
from engine.services import catalog as catalog_service
from engine.services import listings as service

TENANT = "bench"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the sandbox stopped at start (exit {process.returncode})")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the sandbox did not listen on port {port} in {seconds} s")


def _omnistock(*args: str) -> list[str]:
    return [sys.executable, "-m", "engine.cli", *args]


def bench(
    skus: Annotated[int, typer.Option(help="demo SKUs (the catalog written from them)")] = 5000,
    quota: Annotated[float, typer.Option(help="calls a second per shop (every method)")] = 50.0,
    fail_rate: Annotated[float, typer.Option(help="share of calls failing transiently")] = 0.05,
    kill_at: Annotated[
        float, typer.Option(help="kill the runs once this share of items is sent (0: never)")
    ] = 0.5,
    seed: Annotated[int, typer.Option(help="the seed of the sandbox's faults")] = 7,
    keep: Annotated[Path | None, typer.Option(help="keep the work directory here")] = None,
    redis_url: Annotated[
        str | None,
        typer.Option("--redis", help="pace in this Redis (as a deployment with Redis does)"),
    ] = None,
) -> None:
    """List the demo catalog on the sandbox (faults, quota), kill and resume, read back."""
    work = keep or Path(tempfile.mkdtemp(prefix="omnistock-listing-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{work / 'omnistock.db'}"
    accounts_file = work / "marketplaces.yaml"
    env = child_environment(
        database_url=url, redis_url=redis_url, marketplaces_file=str(accounts_file)
    )

    err.print(f"work directory {work}", highlight=False)
    snapshot, _ = build_demo(DEFAULT_SEED, skus=skus)
    write_catalog(work, snapshot, DEFAULT_SEED)
    catalog = catalog_service.open_catalog(url, migrate_now=True)
    catalog_service.import_file(catalog, TENANT, work / "catalog.csv", "bench")
    shops_doc = yaml.safe_load((work / "shops.yaml").read_text(encoding="utf-8"))
    shops = catalog_service.put_shops(catalog, TENANT, shops_doc, "bench", "shops.yaml")

    port = _free_port()
    # The quota asked for on every method, by the second only: the platforms' day caps
    # (Pinduoduo's 1,200 creates a shop) would stop a demo brand's shop part-way.
    day = 10_000_000
    every = {p: {"*": {"per_second": quota, "per_day": day}} for p in PLATFORMS}
    sandbox_config = {
        "limits": every,
        "fail_rate": fail_rate,
        "timeout_share": 0.5,
        "timeout_sleep_s": 1.5,  # past the client's 1 s time-out: the call lands late
        "review": {"polls": 2},
        "seed": seed,
    }
    (work / "sandbox.yaml").write_text(yaml.safe_dump(sandbox_config), encoding="utf-8")
    accounts_doc = {
        "accounts": {
            "sandbox": {
                "base_url": f"http://127.0.0.1:{port}/{{platform}}",
                "app_key": "sandbox-app",
                "app_secret": "sandbox-secret",
                "timeout_s": 1.0,
                "limits": {"*": {"per_second": quota, "per_day": day}},
            }
        },
        "default_account": "sandbox",
    }
    accounts_file.write_text(yaml.safe_dump(accounts_doc), encoding="utf-8")
    accounts = parse_accounts(accounts_doc, str(accounts_file))

    sandbox_log = (work / "sandbox.log").open("wb")
    sandbox = subprocess.Popen(
        _omnistock("sandbox", "serve", "--port", str(port), "--config", str(work / "sandbox.yaml")),
        stdout=sandbox_log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        _wait_for_port(port, sandbox)
        listings = ListingStore(catalog.store.engine)
        jobs: list[str] = []
        refused = 0
        for brand in sorted({s.brand for s in shops}):
            preview = service.preview_publish(catalog, TENANT, brand)
            refused += preview.refused
            jobs.append(service.create_job(listings, TENANT, preview, "bench", {}).id)
        total = sum(sum(sum(c.values()) for c in listings.counts(TENANT, j).values()) for j in jobs)
        err.print(
            f"{len(jobs)} jobs, {total} items ({refused} refused before sending), "
            f"{len(shops)} shops at {quota:g} calls/s, {fail_rate:.0%} transient faults",
            highlight=False,
        )
        started = time.monotonic()
        killed = _run_all(work, env, listings, jobs, total, kill_at, "run 1")
        if killed:
            _run_all(work, env, listings, jobs, total, 0.0, "run 2 (resumed)")
        wall = time.monotonic() - started
        _report(catalog, listings, jobs, accounts, shops, quota, wall, killed)
    finally:
        sandbox.send_signal(signal.SIGINT)
        try:
            sandbox.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sandbox.kill()
        sandbox_log.close()
        catalog.store.dispose()


def _done(listings: ListingStore, jobs: list[str], sent: bool = False) -> int:
    """Items done (or, with `sent`, past sending: taken by the platform or done)."""
    past = TERMINAL | {ItemState.ACCEPTED, ItemState.IN_REVIEW} if sent else TERMINAL
    return sum(
        n
        for job in jobs
        for states in listings.counts(TENANT, job).values()
        for state, n in states.items()
        if ItemState(state) in past
    )


def _run_all(
    work: Path,
    env: dict[str, str],
    listings: ListingStore,
    jobs: list[str],
    total: int,
    kill_at: float,
    name: str,
) -> bool:
    """Run every job in a process of its own; True when they were killed mid-way."""
    runs = []
    for job in jobs:
        log = (work / f"{job}.log").open("ab")
        # The sandbox carries out a timed-out call 1.5 s after it came: a resumed run
        # waits that out (and a little more) before it looks anything up.
        command = _omnistock("listing", "resume", job, "--tenant", TENANT, "--settle", "3")
        runs.append((subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env), log))
    began = time.monotonic()
    killed = False
    try:
        while any(process.poll() is None for process, _ in runs):
            time.sleep(0.5)
            done, sent = _done(listings, jobs), _done(listings, jobs, sent=True)
            err.print(
                f"{name}: {sent}/{total} items sent, {done} done, {time.monotonic() - began:.1f} s",
                highlight=False,
            )
            if kill_at and sent >= kill_at * total and not killed:
                for process, _ in runs:
                    process.kill()  # SIGKILL: no clean-up, as a lost worker
                killed = True
                err.print(
                    f"{name}: killed every run (SIGKILL) at {sent}/{total} sent", highlight=False
                )
    finally:
        for process, log in runs:
            process.wait()
            log.close()
    failed = [p.returncode for p, _ in runs if p.returncode not in (0, -signal.SIGKILL)]
    if failed:
        raise RuntimeError(f"{name}: a listing run exited {failed[0]}; see the logs in {work}")
    return killed


def _report(
    catalog: catalog_service.Catalog,
    listings: ListingStore,
    jobs: list[str],
    accounts: Any,
    shops: list[Any],
    quota: float,
    wall: float,
    killed: bool,
) -> None:
    states: Counter[str] = Counter()
    per_shop: Counter[str] = Counter()  # items sent to each shop
    calls = 0
    run_seconds = 0.0
    equal = compared = 0
    no_reason = 0
    for job_id in jobs:
        job = listings.job(TENANT, job_id)
        calls += job.calls
        run_seconds = max(run_seconds, job.seconds)
        states.update(job.summary.get("states", {}))
        for shop, counts in listings.counts(TENANT, job_id).items():
            per_shop[shop] += sum(n for s, n in counts.items() if s != ItemState.REFUSED.value)
        readback = job.summary.get("readback") or {}
        equal += int(readback.get("equal", 0))
        compared += int(readback.get("items", 0))
        for item in listings.items(
            TENANT, job_id, states=[ItemState.REJECTED, ItemState.FAILED, ItemState.REFUSED]
        ):
            no_reason += not item.reason
    duplicates = 0
    reach, pacer = AccountsReach(accounts), MemoryPacer()
    for shop in shops:
        outer = [item.outer_id for item in read_shop(reach, pacer, shop.id, shop.platform)]
        twice = len(outer) - len(set(outer))
        if twice:
            err.print(f"{shop.id}: {twice} items listed twice", highlight=False)
        duplicates += twice
    sent = sum(n for s, n in states.items() if s != ItemState.REFUSED.value)
    bound = quota * len(shops)
    # A new item takes two calls (the look-up, the create): the busiest shop needs at
    # least 2 x its items / its quota seconds, whatever the lister does.
    least_s = max(2 * n for n in per_shop.values()) / quota if per_shop else 0.0
    rows = [
        ("items", f"{sum(states.values())}"),
        ("states", " ".join(f"{s}={n}" for s, n in sorted(states.items()))),
        ("killed mid-way and resumed", "yes" if killed else "no"),
        (
            "read-back as intended",
            f"{equal}/{compared} ({equal / compared:.2%})" if compared else "-",
        ),
        ("items listed twice", str(duplicates)),
        ("refused/rejected/failed without a reason", str(no_reason)),
        ("wall seconds (both runs, restart included)", f"{wall:.1f}"),
        ("calls", str(calls)),
        ("calls/s", f"{calls / wall:.1f}"),
        ("quota-bound limit, calls/s (quota x shops)", f"{bound:g}"),
        ("calls/s / limit", f"{calls / wall / bound:.3f}"),
        ("items sent/s", f"{sent / wall:.1f}"),
        ("items sent/s / limit", f"{sent / wall / bound:.3f}"),
        ("least seconds the quota allows (busiest shop)", f"{least_s:.1f}"),
        ("least seconds / wall seconds", f"{least_s / wall:.3f}"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        typer.echo(f"{name:<{width}}  {value}")
