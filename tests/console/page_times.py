"""How long each console page takes on the demo (5,000 SKUs x 10 shops): a measurement,
not a timed test. Run: `python -m tests.console.page_times [--skus N] [--rounds N]`.

The console is served for real (tests/console/served.py; the process warmed up at
start as `omnistock serve` warms its own, api/app.py `warm_up`); each page is fetched
over loopback HTTP with a signed-in session, once - the process's first view of it,
which reads and lays out the plan or checks it (printed apart, "first") - then `rounds`
times; the median and the slowest are printed per page, in ms, as the client saw them."""

from __future__ import annotations

import argparse
import re
import statistics
import time

import httpx

from tests.console.served import Served, make_plan, serve_console

BUDGET_MS = 300


def signed_in(served: Served, key: str) -> httpx.Client:
    client = httpx.Client(base_url=served.base, follow_redirects=False, timeout=60)
    form = client.get("/console/sign-in").text
    pre = re.search(r'name="_pre" value="([^"]+)"', form)
    assert pre is not None
    answer = client.post("/console/sign-in", data={"key": key, "_pre": pre.group(1)})
    assert answer.status_code == 303, answer.text
    return client


def pages(plan_id: str) -> list[str]:
    plan = f"/console/plans/{plan_id}"
    return [
        "/console/plans",
        f"{plan}?brand=b1",
        f"{plan}?brand=b2&page=20",
        f"{plan}?brand=b3&q=B3-01&shop=tm-b3",
        f"{plan}?brand=b1&category=running",
        f"{plan}/skus/B1-0001",
        f"{plan}/warnings",
        f"{plan}/warnings?severity=medium&code=oversell_risk&page=3",
        f"{plan}?brand=b2&warning=high",
        f"{plan}/compare?brand=b1&other={plan_id}",
        "/console/plans/new",
        "/console/mode",
        "/console/scenarios",
        "/console/shelf",
        "/console/shelf?shop=tm-b1&slots=20",
    ]


def measure(client: httpx.Client, path: str, rounds: int) -> tuple[float, list[float]]:
    started = time.perf_counter()
    first = client.get(path)
    assert first.status_code == 200, (path, first.status_code, first.text[:300])
    cold = (time.perf_counter() - started) * 1000
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200
    return cold, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with serve_console(args.skus, as_served=True) as served:
        plan_id = make_plan(served)
        client = signed_in(served, served.operator)
        print(f"demo: {args.skus} SKUs x 10 shops, plan {plan_id}; ms over {args.rounds} rounds")
        print(f"{'page':64} {'first':>7} {'median':>7} {'max':>7}")
        slowest = 0.0
        for path in pages(plan_id):
            cold, times = measure(client, path, args.rounds)
            slowest = max(slowest, max(times))
            print(f"{path:64} {cold:7.1f} {statistics.median(times):7.1f} {max(times):7.1f}")
        verdict = "within" if slowest < BUDGET_MS else "OVER"
        print(f"slowest warm page: {slowest:.1f} ms ({verdict} the {BUDGET_MS} ms budget)")


if __name__ == "__main__":
    main()
