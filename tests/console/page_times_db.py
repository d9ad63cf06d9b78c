"""How long each console page on the catalog's database takes on the demo (5,000 SKUs x
10 shops, the demo catalog's 5,000 rows, its settlement months settled, a listing job,
report builds, recipients, schedules and a delivery log: tests/console/db_demo.py): a
measurement, not a timed test. Run: `python -m tests.console.page_times_db [--skus N]
[--rounds N]`.

Measured as tests/console/page_times.py measures the plan pages: each page fetched over
loopback HTTP with a signed-in operator's session, once ("first"), then `rounds` times;
the median and the slowest are printed per page, in ms, as the client saw them."""

from __future__ import annotations

import argparse
import statistics

from tests.console.db_demo import DbDemo, served_db
from tests.console.page_times import BUDGET_MS, measure, signed_in


def pages(demo: DbDemo, builds: list[str]) -> list[str]:
    brand, spu = demo.product
    listing = f"/console/listings/{demo.listing}"
    run = f"/console/settlements/{demo.runs['b1']}"
    return [
        "/console/catalog",
        "/console/catalog?brand=b2&platform=jd&blocked=true",
        f"/console/catalog/{brand}/{spu}",
        "/console/listings",
        listing,
        f"{listing}?state=on_sale&shop=jd-b1",
        "/console/settlements",
        run,
        f"{run}?outcome=amount_short&resolved=no",
        f"{run}/resolve?record={demo.short}",
        "/console/reports",
        *(f"/console/reports/{build}" for build in builds[:1]),
        "/console/reports/recipients",
        "/console/reports/schedules",
        "/console/reports/deliveries",
        "/console/reports/deliveries?brand=b1&status=failed",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with served_db(args.skus) as (served, demo, builds):
        client = signed_in(served, served.operator)
        print(f"demo: {args.skus} SKUs x 10 shops on SQLite; ms over {args.rounds} rounds")
        paths = pages(demo, builds)
        width = max(map(len, paths))
        print(f"{'page':{width}} {'first':>7} {'median':>7} {'max':>7}")
        slowest = 0.0
        for path in paths:
            cold, times = measure(client, path, args.rounds)
            slowest = max(slowest, max(times))
            median = statistics.median(times)
            print(f"{path:{width}} {cold:7.1f} {median:7.1f} {max(times):7.1f}")
        verdict = "within" if slowest < BUDGET_MS else "OVER"
        print(f"slowest warm page: {slowest:.1f} ms ({verdict} the {BUDGET_MS} ms budget)")


if __name__ == "__main__":
    main()
