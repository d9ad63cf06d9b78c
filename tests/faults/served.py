"""What the fault tests share: a real `omnistock serve` in a subprocess, a tenant with a
published plan, a burst of orders from several clients, and the reconciliation that
every fault test ends with."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from engine.access.repository import key_repository
from engine.core.settings import Settings
from tests.helpers import snapshot_data

ROOT = Path(__file__).resolve().parents[2]
TENANT = "faults"
SKUS = {f"S{i}": 60 for i in range(6)}
Cell = tuple[str, str]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """`omnistock serve` on a port, restartable on the same state."""

    workdir: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [sys.executable, "-m", "engine.cli", "serve", "--port", str(self.port)]
        log = open(self.workdir / "serve.log", "ab")  # noqa: SIM115 - the child owns it
        self.process = subprocess.Popen(
            command, cwd=self.workdir, env=self.env, stdout=log, stderr=log
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.workdir / "serve.log").read_text()
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("omnistock serve did not answer within 30 s")

    def kill(self) -> None:
        """kill -9: no shutdown hook runs, nothing is flushed on the way out."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@contextmanager
def served(workdir: Path, **env: str) -> Iterator[tuple[Server, dict[str, str]]]:
    """A server with a key file in `workdir` and an operator key for the tenant."""
    keys_file = workdir / ".omnistock" / "keys.json"
    key, _ = key_repository(Settings(keys_file=keys_file)).create(TENANT, "operator")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OMNISTOCK_")}
    # One key sends the whole burst: the per-key rate limit is not what is tested here.
    environment.update(
        OMNISTOCK_KEYS_FILE=str(keys_file),
        OMNISTOCK_RATE_LIMIT_PER_S="0",
        PYTHONPATH=str(ROOT),
        **env,
    )
    server = Server(workdir, environment)
    server.start()
    try:
        yield server, {"Authorization": f"Bearer {key}"}
    finally:
        server.stop()


def publish_plan(base: str, headers: dict[str, str], key: str) -> tuple[str, dict[str, Any]]:
    """Snapshot, rules and a plan for the tenant, published under `key`."""
    snapshot = {**snapshot_data(pools=SKUS, shops=(("A", 1), ("B", 2))), "tenant": TENANT}
    assert httpx.put(f"{base}/v1/snapshot", json=snapshot, headers=headers).status_code == 200
    rules = {"rules": [{"id": "r-split", "type": "percentage", "shares": {"A": 0.5, "B": 0.5}}]}
    assert httpx.put(f"{base}/v1/ruleset", json=rules, headers=headers).status_code == 200
    plan = httpx.post(f"{base}/v1/plans", json={}, headers=headers, timeout=30).json()
    receipt = publish(base, headers, plan["plan_id"], key)
    assert receipt.status_code == 200, receipt.text
    return plan["plan_id"], receipt.json()


def publish(base: str, headers: dict[str, str], plan_id: str, key: str) -> httpx.Response:
    return httpx.post(
        f"{base}/v1/plans/{plan_id}/publish",
        json={},
        headers={**headers, "Idempotency-Key": key},
        timeout=30,
    )


def published(base: str, headers: dict[str, str]) -> dict[Cell, int]:
    """What each shop can still sell of each SKU: its own units plus the shared part."""
    rows = httpx.get(f"{base}/v1/published", headers=headers, timeout=30).json()
    return {(r["shop"], r["sku"]): r["quantity"] + r.get("shared", 0) for r in rows}


@dataclass
class Burst:
    """Orders sent by several clients until stopped: what was acknowledged (answered
    200), refused (409: nothing taken) and uncertain (no answer, or a 5xx: the server
    or its store died under it, so the order may or may not have been taken)."""

    acknowledged: Counter[Cell] = field(default_factory=Counter)
    refused: Counter[Cell] = field(default_factory=Counter)
    unanswered: Counter[Cell] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, base: str, headers: dict[str, str], clients: int, stop: threading.Event) -> None:
        cells = [(shop, sku) for sku in SKUS for shop in ("A", "B")]

        def client(n: int) -> None:
            with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
                for i in range(100_000):
                    if stop.is_set():
                        return
                    shop, sku = cells[(n * 7 + i) % len(cells)]
                    order = {"shop": shop, "sku": sku, "quantity": 1}
                    try:
                        answer = http.post("/v1/orders", json=order)
                    except httpx.HTTPError:
                        with self._lock:
                            self.unanswered[(shop, sku)] += 1
                        return  # the server is gone
                    with self._lock:
                        if answer.status_code == 200:
                            self.acknowledged[(shop, sku)] += 1
                        elif answer.status_code >= 500:
                            self.unanswered[(shop, sku)] += 1
                        else:
                            assert answer.status_code == 409, answer.text
                            self.refused[(shop, sku)] += 1

        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    def total(self) -> int:
        return sum(self.acknowledged.values())


def reconcile(before: dict[Cell, int], after: dict[Cell, int], burst: Burst) -> None:
    """Per cell: published = sold + left, where every acknowledged order is sold (no
    acknowledged change lost) and nothing is sold beyond the orders sent (no unit sold
    twice, none invented); nothing is left below zero."""
    assert after.keys() == before.keys()
    for cell, published_units in before.items():
        left = after[cell]
        sold = published_units - left
        assert left >= 0, cell
        assert sold >= burst.acknowledged[cell], (cell, sold, burst.acknowledged[cell])
        assert sold <= burst.acknowledged[cell] + burst.unanswered[cell], (cell, sold)
