"""The app served by uvicorn in a subprocess, answering a real HTTP request."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.shelf.test_ranking import seed_shelf

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(url: str, server: subprocess.Popen[bytes], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, "uvicorn exited early"
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"uvicorn did not answer at {url} within {seconds} s")


@contextmanager
def _served(env: dict[str, str] | None = None) -> Iterator[str]:
    """The app under uvicorn in a subprocess on a free port; yields its base URL."""
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "api.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(f"{base}/healthz", server)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_uvicorn_serves_rank_over_http(tmp_path: Path) -> None:
    from engine.access.repository import JsonFileKeyRepository

    keys_file = tmp_path / "keys.json"
    key = JsonFileKeyRepository(keys_file).create("acme", "brand_viewer", "b1")[0]
    env = {**os.environ, "OMNISTOCK_KEYS_FILE": str(keys_file)}
    with _served(env) as base:
        request = urllib.request.Request(
            f"{base}/v1/rank",
            data=json.dumps({"shelf": seed_shelf()}).encode(),
            headers={"content-type": "application/json", "Authorization": f"Bearer {key}"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
            body = json.loads(response.read())
        assert body["moves"][0]["product"] == "BEST"


def test_load_command_plumbing_against_a_real_server(tmp_path: Path) -> None:
    """`omnistock load` end to end on a tiny run (its timings are printed, never asserted)."""
    from engine.access.repository import JsonFileKeyRepository
    from engine.bench.load import prepare, run_load

    keys_file = tmp_path / "keys.json"
    key = JsonFileKeyRepository(keys_file).create("load", "operator")[0]
    env = {**os.environ, "OMNISTOCK_KEYS_FILE": str(keys_file)}
    env.pop("OMNISTOCK_REDIS_URL", None)
    with _served(env) as base:
        prepare(base, key, skus=100)
        report = run_load(base, key, clients=2, per_client=2)
        assert report.requests == 4 and report.errors == 0
        assert 0 < report.p50_ms <= report.p99_ms <= report.max_ms


def test_omnistock_serve_logs_one_json_line_per_request(tmp_path: Path) -> None:
    """The README's promise, under the real command: request lines on stderr."""
    from engine.access.repository import JsonFileKeyRepository

    keys_file = tmp_path / "keys.json"
    key = JsonFileKeyRepository(keys_file).create("acme", "operator")[0]
    env = {**os.environ, "OMNISTOCK_KEYS_FILE": str(keys_file)}
    env.pop("OMNISTOCK_REDIS_URL", None)
    port = _free_port()
    command = [sys.executable, "-m", "engine.cli", "serve", "--port", str(port)]
    log_file = tmp_path / "serve.log"
    with log_file.open("wb") as stderr:
        server = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=stderr
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_until_up(f"{base}/healthz", server)
            request = urllib.request.Request(
                f"{base}/v1/whoami",
                headers={"Authorization": f"Bearer {key}", "X-Request-ID": "req-log-1"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200
        finally:
            server.terminate()
            server.wait(timeout=20)
    lines = [json.loads(line) for line in log_file.read_text().splitlines() if line.startswith("{")]
    mine = [line for line in lines if line.get("request_id") == "req-log-1"]
    assert mine, log_file.read_text()
    assert mine[0] | {"ms": 0} == {
        "request_id": "req-log-1",
        "tenant": "acme",
        "method": "GET",
        "route": "/v1/whoami",
        "status": 200,
        "ms": 0,
    }
