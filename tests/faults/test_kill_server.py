"""kill -9 of `omnistock serve` on its default durable state during a burst of orders:
after a restart every acknowledged order is still taken, no unit is sold twice, and a
publish repeated with its Idempotency-Key is answered from the record, not redone."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from tests.faults.served import Burst, publish, publish_plan, published, reconcile, served


def test_kill_9_mid_burst_loses_no_acknowledged_order(tmp_path: Path) -> None:
    with served(tmp_path) as (server, headers):
        plan_id, receipt = publish_plan(server.base, headers, "publish-1")
        before = published(server.base, headers)
        assert sum(before.values()) == receipt["units"] > 0

        burst, stop = Burst(), threading.Event()
        clients = threading.Thread(target=burst.run, args=(server.base, headers, 6, stop))
        clients.start()
        deadline = time.monotonic() + 30
        while burst.total() < 120 and time.monotonic() < deadline:
            time.sleep(0.005)
        server.kill()  # mid-burst: clients are still sending
        stop.set()
        clients.join()
        assert burst.total() >= 120
        assert state_files(tmp_path)  # the default state lives beside the key file

        server.start()
        after = published(server.base, headers)
        reconcile(before, after, burst)

        # The same publish again is the recorded answer: the units sold stay sold.
        again = publish(server.base, headers, plan_id, "publish-1")
        assert again.status_code == 200 and again.json() == receipt
        assert published(server.base, headers) == after
        other = publish(server.base, headers, plan_id + "x", "publish-1")
        assert other.status_code == 409


def state_files(workdir: Path) -> list[Path]:
    return sorted((workdir / ".omnistock").glob("state.db*"))
