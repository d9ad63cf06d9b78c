"""Two API worker processes on one Redis, each keeping the tenant's parsed snapshot
(engine/services/plan_inputs_cache.py): a stock patch or a new ruleset made through
either worker is planned by both at once - no worker answers from what it parsed
before. Each plan's input hash is checked against the stored documents parsed here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import redis

from engine.access.repository import JsonFileKeyRepository
from engine.core.io import parse_snapshot
from engine.planning.planner import input_hash
from engine.store.redis_store import RedisStore
from rules.load import parse_ruleset
from tests.api.test_server import ROOT, _free_port, _wait_until_up
from tests.helpers import snapshot_data

REDIS_URL = os.environ.get("OMNISTOCK_REDIS_URL") or "redis://127.0.0.1:6379/15"


def _call(base: str, key: str, method: str, path: str, body: Any = None) -> tuple[str, Any]:
    """One request on a new connection (so the OS may hand it to either worker)."""
    request = urllib.request.Request(
        f"{base}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "content-type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.headers["X-Worker"], json.loads(response.read())


def _plans_from_every_worker(base: str, key: str) -> dict[str, list[dict[str, Any]]]:
    """Plans made now, asked for until both workers have answered."""
    seen: dict[str, list[dict[str, Any]]] = {}
    for _ in range(400):
        worker, answer = _call(base, key, "POST", "/v1/plans", {})
        seen.setdefault(worker, []).append(answer)
        if len(seen) == 2:
            return seen
    raise AssertionError(f"only workers {sorted(seen)} answered in 400 requests")


def _wait_for_both_workers(base: str, seconds: float = 120) -> None:
    """Until both workers answer (a worker may start seconds after the first on a busy
    machine)."""
    deadline = time.monotonic() + seconds
    seen: set[str] = set()
    while len(seen) < 2:
        assert time.monotonic() < deadline, f"only workers {sorted(seen)} answered"
        with urllib.request.urlopen(f"{base}/healthz", timeout=10) as response:
            seen.add(response.headers["X-Worker"])


def _expected_hash(store: RedisStore) -> str:
    snapshot = parse_snapshot(store.get_snapshot().body)
    return input_hash(snapshot, parse_ruleset(store.get_ruleset().body), snapshot.mode)


def _all_fresh(plans: dict[str, list[dict[str, Any]]], store: RedisStore) -> None:
    expected = (store.stock_version(), store.get_ruleset().version, _expected_hash(store))
    for worker, answers in plans.items():
        for answer in answers:
            got = (answer["stock_version"], answer["ruleset_version"])
            assert (*got, answer["plan"]["input_hash"]) == expected, worker


def test_both_workers_plan_a_new_stock_version_and_ruleset_at_once(tmp_path: Path) -> None:
    tenant = f"t{uuid.uuid4().hex[:12]}"
    keys_file = tmp_path / "keys.json"
    key = JsonFileKeyRepository(keys_file).create(tenant, "operator")[0]
    port = _free_port()
    env = {
        **os.environ,
        "OMNISTOCK_KEYS_FILE": str(keys_file),
        "OMNISTOCK_REDIS_URL": REDIS_URL,
        "OMNISTOCK_RATE_LIMIT_PER_S": "0",
    }
    command = [sys.executable, "-m", "engine.cli", "serve", "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    store = RedisStore(tenant, url=REDIS_URL)
    try:
        _wait_until_up(f"{base}/healthz", server, seconds=120)
        _wait_for_both_workers(base)
        snapshot = {**snapshot_data(pools={"S": 10, "T": 4}), "tenant": tenant}
        _call(base, key, "PUT", "/v1/snapshot", snapshot)
        rules = {"rules": [{"id": "r-safe", "type": "safety_stock", "quantity": 1}]}
        _call(base, key, "PUT", "/v1/ruleset", rules)
        before = _plans_from_every_worker(base, key)  # each worker has parsed version 1
        _all_fresh(before, store)

        row = {"sku": "S", "warehouse": "W1", "on_hand": 3}
        _call(base, key, "PATCH", "/v1/snapshot/stock", {"version": 1, "stock": [row]})
        after_stock = _plans_from_every_worker(base, key)
        _all_fresh(after_stock, store)
        assert store.stock_version() == 2

        more = {"rules": [{"id": "r-safe", "type": "safety_stock", "quantity": 5}]}
        _call(base, key, "PUT", "/v1/ruleset", more)
        after_rules = _plans_from_every_worker(base, key)
        _all_fresh(after_rules, store)
        hashes = {
            plans[worker][0]["plan"]["input_hash"]
            for plans in (before, after_stock, after_rules)
            for worker in plans
        }
        assert len(hashes) == 3, "each change gave new inputs"
    finally:
        server.terminate()
        server.wait(timeout=20)
        store.close()
        client = redis.Redis.from_url(REDIS_URL)
        for name in client.scan_iter(f"omnistock:{tenant}:*"):
            client.delete(name)
        client.close()
