"""Several API worker processes on one Redis: a Double-11 switch made through one worker
reaches every worker through the store's broadcast (each worker answers the mode from
what it heard; re-reading is set far beyond the test's duration, so only the broadcast
can have told them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path
from typing import Any

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


def test_a_mode_switch_reaches_every_api_worker(tmp_path: Path) -> None:
    tenant = f"t{uuid.uuid4().hex[:12]}"
    keys_file = tmp_path / "keys.json"
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
        before = _from_every_worker(base, key, workers=2)
        assert all(modes == ["normal"] * len(modes) for modes in before.values()), before

        _call(base, key, "PUT", {"mode": "peak"})
        after = _from_every_worker(base, key, workers=2)
        assert set(after) == set(before)
        assert all(modes == ["peak"] * len(modes) for modes in after.values()), after
    finally:
        server.terminate()
        server.wait(timeout=20)
        client = redis.Redis.from_url(REDIS_URL)
        for name in client.scan_iter(f"omnistock:{tenant}:*"):
            client.delete(name)
        client.close()
