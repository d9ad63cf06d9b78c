"""`omnistock load`: latency of plan requests against a running server, under concurrent
clients (a load tool, not a test: nothing is asserted about time).

It puts a demo snapshot of the requested size into the key's tenant, then every client
thread sends `POST /v1/plans` back to back; the report gives p50, p90, p99 and max
latency, throughput, any non-200 answers and the machine's load average (the client
runs on the same machine, and others may be using it too).

With `stock_changes_per_s` a writer patches one stock row that many times a second
while the clients plan, as a shop's orders and inbound goods do: plans then come from
new stock versions, each one's first plan in a worker parsing it again (the service
keeps the parsed snapshot per stored text, engine/services/plan_inputs_cache.py), so
the figure is not only that of a snapshot read once.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

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
    stock_versions: int = 1  # distinct stock versions the answered plans were made from
    stock_changes: int = 0  # stock patches the writer made during the run
    load_before: float = 0.0  # the machine's 1-minute load average before the run
    load_after: float = 0.0  # and after it
    # The plans' `timing.total_s` (compile, solve, assembly): wall time in the worker,
    # shared with the worker's other requests.
    planner_p50_ms: float = 0.0
    server_cpu_s: float | None = None  # CPU seconds the server's processes spent (--server-pid)
    # Each worker's share of them, largest first: the kernel spreads connections over
    # the workers by a hash, and the busiest worker sets the pace and the p99.
    worker_cpu_s: tuple[float, ...] = ()
    # Answers that said `Connection: close`: each such client connected again and was
    # placed on a worker anew (a server evening out its workers' connections).
    reconnects: int = 0

    @property
    def cpu_ms_per_plan(self) -> float | None:
        """Server CPU per request: what a loaded machine does not distort."""
        if self.server_cpu_s is None or not self.requests:
            return None
        return self.server_cpu_s / self.requests * 1000

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def prepare(url: str, key: str, skus: int) -> list[dict[str, Any]]:
    """The tenant's snapshot and rules: the demo generator at `skus` SKUs (10 shops).
    Returns the snapshot's stock rows (what a stock writer may patch)."""
    headers = {"Authorization": f"Bearer {key}"}
    snapshot, rules = build_demo(skus=skus)
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
        tenant = client.get("/v1/whoami").raise_for_status().json()["tenant"]
        client.put("/v1/snapshot", json={**snapshot, "tenant": tenant}).raise_for_status()
        client.put("/v1/ruleset", json=rules).raise_for_status()
    rows: list[dict[str, Any]] = snapshot["stock"]
    return rows


def process_tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a running process and its children, from /proc
    (Linux): a server's workers are children of `omnistock serve`. Children that ended
    are counted by the kernel in their parent only once waited for; a run that loses a
    worker undercounts."""
    return sum(tree_cpu_s(pid).values())


def tree_cpu_s(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of a running process and of each of its children,
    by process id."""
    ticks = os.sysconf("SC_CLK_TCK")
    out: dict[int, float] = {}
    for one in [pid, *_children(pid)]:
        with open(f"/proc/{one}/stat") as stat:
            # Fields after the command (which may hold spaces) start after its ')'.
            fields = stat.read().rsplit(")", 1)[1].split()
        out[one] = (int(fields[11]) + int(fields[12])) / ticks
    return out


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as children:
            for child in children.read().split():
                found += [int(child), *_children(int(child))]
    return found


class _StockWriter:
    """Patches one stock row (the next in turn) `per_s` times a second until stopped;
    a patch that lost a race to another writer (409) reads the version again and is
    retried."""

    def __init__(self, url: str, key: str, rows: list[dict[str, Any]], per_s: float) -> None:
        self.url, self.key, self.rows, self.per_s = url, key, rows, per_s
        self.changes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _StockWriter:
        if self.per_s > 0 and self.rows:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=60) as client:
            version = client.get("/v1/snapshot/version").raise_for_status().json()
            current = int(version["stock_version"])
            turn = 0
            while not self._stop.wait(1 / self.per_s):
                row = dict(self.rows[turn % len(self.rows)])
                # One or two units more than the demo's row, by turns: each patch changes it.
                row["on_hand"] = int(row["on_hand"]) + 1 + (turn // len(self.rows)) % 2
                body = {"version": current, "stock": [row]}
                answer = client.patch("/v1/snapshot/stock", json=body)
                if answer.status_code == 409:
                    current = int(answer.json()["detail"]["current_version"])
                    continue
                current = int(answer.raise_for_status().json()["stock_version"])
                self.changes += 1
                turn += 1


def run_load(
    url: str,
    key: str,
    clients: int,
    per_client: int,
    stock_rows: list[dict[str, Any]] | None = None,
    stock_changes_per_s: float = 0.0,
    server_pid: int | None = None,
) -> LoadReport:
    latencies: list[float] = []
    versions: set[int] = set()
    planner: list[float] = []
    errors = 0
    reconnects = 0
    lock = threading.Lock()

    def client_loop() -> None:
        nonlocal errors, reconnects
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=url, headers=headers, timeout=300) as client:
            for _ in range(per_client):
                started = time.perf_counter()
                answer = client.post("/v1/plans", json={})
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    errors += answer.status_code != 200
                    reconnects += answer.headers.get("connection") == "close"
                    if answer.status_code == 200:
                        # orjson: the client shares the machine with the server, and
                        # the standard parser's CPU on a 0.6 MB plan would be taken from it.
                        view = orjson.loads(answer.content)
                        versions.add(int(view["stock_version"]))
                        planner.append(float(view["plan"]["timing"]["total_s"]))

    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    load_before = os.getloadavg()[0]
    cpu_before = tree_cpu_s(server_pid) if server_pid else {}
    with _StockWriter(url, key, stock_rows or [], stock_changes_per_s) as writer:
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        total = time.perf_counter() - started
    cpu_after = tree_cpu_s(server_pid) if server_pid else {}
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
        stock_versions=len(versions),
        stock_changes=writer.changes,
        load_before=load_before,
        load_after=os.getloadavg()[0],
        planner_p50_ms=statistics.median(planner) * 1000 if planner else 0.0,
        server_cpu_s=sum(cpu_after.values()) - sum(cpu_before.values()) if server_pid else None,
        worker_cpu_s=_worker_shares(server_pid, cpu_before, cpu_after),
        reconnects=reconnects,
    )


def _worker_shares(
    server: int | None, before: dict[int, float], after: dict[int, float]
) -> tuple[float, ...]:
    """CPU seconds each worker of the server spent during the run, largest first (its
    children there before and after, less multiprocessing's resource tracker, which
    serves no requests)."""
    spent = [
        after[pid] - before[pid]
        for pid in after
        if pid in before and pid != server and not _is_resource_tracker(pid)
    ]
    return tuple(sorted(spent, reverse=True))


def _is_resource_tracker(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return b"multiprocessing.resource_tracker" in cmdline.read()
    except OSError:
        return False  # exited since the run: kept, as its CPU was read before it went
