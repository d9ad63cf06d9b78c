"""`omnistock load --stock-changes`: a stock writer patches the tenant's stock while the
clients plan; every patch it counts is one stock version on the server, and every plan
answered comes from one of the versions written (timings are printed, never asserted)."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

from engine.access.repository import JsonFileKeyRepository
from engine.bench.load import prepare, run_load
from tests.api.test_server import _served


def test_load_with_a_stock_writer_against_a_real_server(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.json"
    key = JsonFileKeyRepository(keys_file).create("load", "operator")[0]
    env = {**os.environ, "OMNISTOCK_KEYS_FILE": str(keys_file)}
    env.pop("OMNISTOCK_REDIS_URL", None)
    with _served(env) as base:
        rows = prepare(base, key, skus=100)
        report = run_load(base, key, 2, 5, rows, stock_changes_per_s=50)
        request = urllib.request.Request(
            f"{base}/v1/snapshot/version", headers={"Authorization": f"Bearer {key}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            version = json.loads(response.read())["stock_version"]
    assert report.requests == 10 and report.errors == 0
    assert version == 1 + report.stock_changes  # the snapshot put, then each patch
    assert 1 <= report.stock_versions <= version
    assert 0 < report.planner_p50_ms < report.max_ms  # the plan's part of a request
