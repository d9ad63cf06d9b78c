"""`omnistock load`: latency of plan requests against a running server, under concurrent
clients (a load tool, not a test: nothing is asserted about time).

It puts a demo snapshot of the requested size into the key's tenant, then every client
thread sends `POST /v1/plans` back to back; the report gives p50, p90, p99 and max
latency, throughput and any non-200 answers.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass

import httpx

from engine.demo import build_demo


@dataclass(frozen=True)
class LoadReport:
    clients: int
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def prepare(url: str, key: str, skus: int) -> None:
    """The tenant's snapshot and rules: the demo generator at `skus` SKUs (10 shops)."""
    headers = {"Authorization": f"Bearer {key}"}
    snapshot, rules = build_demo(skus=skus)
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
        tenant = client.get("/v1/whoami").raise_for_status().json()["tenant"]
        client.put("/v1/snapshot", json={**snapshot, "tenant": tenant}).raise_for_status()
        client.put("/v1/ruleset", json=rules).raise_for_status()


def run_load(url: str, key: str, clients: int, per_client: int) -> LoadReport:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()

    def client_loop() -> None:
        nonlocal errors
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=url, headers=headers, timeout=300) as client:
            for _ in range(per_client):
                started = time.perf_counter()
                status = client.post("/v1/plans", json={}).status_code
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    errors += status != 200

    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = time.perf_counter() - started
    # With one latency there is nothing to interpolate: every percentile is it.
    many = len(latencies) > 1
    cuts = statistics.quantiles(latencies, n=100, method="inclusive") if many else latencies * 99
    return LoadReport(
        clients=clients,
        requests=len(latencies),
        errors=errors,
        seconds=total,
        p50_ms=cuts[49] * 1000,
        p90_ms=cuts[89] * 1000,
        p99_ms=cuts[98] * 1000,
        max_ms=max(latencies) * 1000,
    )
