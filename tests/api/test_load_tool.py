"""`omnistock load --stock-changes`: a stock writer patches the tenant's stock while the
clients plan; every patch it counts is one stock version on the server, and every plan
answered comes from one of the versions written (timings are printed, never asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from typer.testing import CliRunner

from engine.access.repository import JsonFileKeyRepository
from engine.bench.load import _worker_shares, prepare, process_tree_cpu_s, run_load, tree_cpu_s
from engine.cli.app import app
from engine.cli.common import EXIT_INPUT
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
    assert report.reconnects == 0  # one worker: no connection is placed again


def test_the_cpu_of_a_process_tree_counts_its_children() -> None:
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.4: pass\n"
    child = subprocess.Popen([sys.executable, "-c", burn + "time.sleep(30)"])
    try:
        deadline = time.monotonic() + 60
        while process_tree_cpu_s(os.getpid()) - process_tree_cpu_s_self() < 0.4:
            assert time.monotonic() < deadline, "the child's CPU was not counted"
            time.sleep(0.05)
    finally:
        child.kill()
        child.wait()


def test_each_child_of_a_process_tree_has_its_own_cpu() -> None:
    """The workers' shares: a child that burns 0.4 s of CPU shows it under its own id,
    and the split of a run lists the children only, largest first."""
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.4: pass\n"
    before = tree_cpu_s(os.getpid())
    busy = subprocess.Popen([sys.executable, "-c", burn + "time.sleep(30)"])
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        deadline = time.monotonic() + 60
        while tree_cpu_s(os.getpid()).get(busy.pid, 0.0) < 0.4:
            assert time.monotonic() < deadline, "the child's CPU was not counted"
            time.sleep(0.05)
        time.sleep(0.3)  # the idle child's start-up (imports) is done by now
        start = {**before, busy.pid: 0.0, idle.pid: 0.0}
        shares = _worker_shares(os.getpid(), start, tree_cpu_s(os.getpid()))
    finally:
        for child in (busy, idle):
            child.kill()
            child.wait()
    assert len(shares) == 2 and shares[0] >= 0.4 and shares[0] > shares[1]


def process_tree_cpu_s_self() -> float:
    """This process's own CPU seconds (the tree's figure less it is its children's)."""
    times = os.times()
    return times.user + times.system


def test_load_refuses_a_server_pid_that_is_not_running() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    result = CliRunner().invoke(app, ["load", "--key", "k", "--server-pid", str(gone.pid)])
    assert result.exit_code == EXIT_INPUT
    assert "--server-pid" in result.output
