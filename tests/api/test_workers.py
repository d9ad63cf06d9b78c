"""Several API worker processes on one Redis: a Double-11 switch made through one worker
reaches every worker through the store's broadcast (each worker answers the mode from
what it heard; re-reading is set far beyond the test's duration, so only the broadcast
can have told them), and clients holding their connections open are spread over the
workers (one socket per worker)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import redis

from engine.access.repository import JsonFileKeyRepository
from tests.api.test_server import ROOT, _free_port, _wait_until_up

REDIS_URL = os.environ.get("OMNISTOCK_REDIS_URL") or "redis://127.0.0.1:6379/15"


def _call(base: str, key: str, method: str = "GET", body: Any = None) -> tuple[str, Any]:
    """One request on a new connection (so the OS may hand it to either worker)."""
    request = urllib.request.Request(
        f"{base}/v1/mode",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "content-type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers["X-Worker"], json.loads(response.read())


def _from_every_worker(base: str, key: str, workers: int) -> dict[str, list[str]]:
    """Each worker's answers (effective mode), asking until every worker has answered."""
    seen: dict[str, list[str]] = {}
    for _ in range(400):
        worker, mode = _call(base, key)
        seen.setdefault(worker, []).append(mode["effective"])
        if len(seen) == workers:
            return seen
    raise AssertionError(f"only workers {sorted(seen)} answered in 400 requests")


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """`omnistock serve --workers 2` on Redis, with an operator key of a new tenant."""
    tenant = f"t{uuid.uuid4().hex[:12]}"
    keys_file = tmp_path_factory.mktemp("workers") / "keys.json"
    key = JsonFileKeyRepository(keys_file).create(tenant, "operator")[0]
    port = _free_port()
    env = {
        **os.environ,
        "OMNISTOCK_KEYS_FILE": str(keys_file),
        "OMNISTOCK_REDIS_URL": REDIS_URL,
        "OMNISTOCK_MODE_MAX_AGE_S": "600",
        # Up to 400 quick requests with one key until both workers have answered.
        "OMNISTOCK_RATE_LIMIT_PER_S": "0",
    }
    command = [sys.executable, "-m", "engine.cli", "serve", "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{base}/healthz", server, seconds=60)
        yield base, key
    finally:
        server.terminate()
        server.wait(timeout=20)
        client = redis.Redis.from_url(REDIS_URL)
        for name in client.scan_iter(f"omnistock:{tenant}:*"):
            client.delete(name)
        client.close()


def test_a_mode_switch_reaches_every_api_worker(two_workers: tuple[str, str]) -> None:
    base, key = two_workers
    before = _from_every_worker(base, key, workers=2)
    assert all(modes == ["normal"] * len(modes) for modes in before.values()), before

    _call(base, key, "PUT", {"mode": "peak"})
    after = _from_every_worker(base, key, workers=2)
    assert set(after) == set(before)
    assert all(modes == ["peak"] * len(modes) for modes in after.values()), after


def test_clients_holding_connections_are_spread_over_the_workers(
    two_workers: tuple[str, str],
) -> None:
    """16 clients, each on one kept-alive connection (as `omnistock load` runs), whose
    connections arrive while the workers are busy (here: stopped). With one socket shared
    by the workers, the first worker to run accepted every queued connection and the
    other idled for the whole run; with a socket per worker the kernel has queued each
    connection on one worker's socket (all 16 on one of 2 by chance: 2 in 65,536)."""
    base, key = two_workers
    workers = [int(pid) for pid in _from_every_worker(base, key, workers=2)]
    auth = {"Authorization": f"Bearer {key}"}
    clients = [httpx.Client(base_url=base, timeout=30) for _ in range(16)]
    try:
        for pid in workers:
            os.kill(pid, signal.SIGSTOP)
        try:
            with ThreadPoolExecutor(max_workers=16) as pool:
                asked = [pool.submit(client.get, "/v1/mode", headers=auth) for client in clients]
                time.sleep(1.0)  # every connection made and queued by the kernel
                for pid in workers:
                    os.kill(pid, signal.SIGCONT)
                answers = [future.result() for future in asked]
        finally:
            for pid in workers:
                os.kill(pid, signal.SIGCONT)
        served_by = [answer.headers["X-Worker"] for answer in answers]
        # The same connections again: each stays with the worker that accepted it, but
        # for those a worker above its share closed to even the split (api/placement.py).
        kept = [answer.headers.get("connection") != "close" for answer in answers]
        again = [client.get("/v1/mode", headers=auth).headers["X-Worker"] for client in clients]
        pairs = zip(again, served_by, kept, strict=True)
        stayed = [(now, first) for now, first, keep in pairs if keep]
        assert all(now == first for now, first in stayed), stayed
    finally:
        for client in clients:
            client.close()
    assert len(set(served_by)) == 2, served_by
