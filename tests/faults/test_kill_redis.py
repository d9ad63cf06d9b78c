"""kill -9 of Redis (a server of the test's own, with an append-only file) during a burst
of orders through `omnistock serve`: once Redis is back, every acknowledged order is
still taken and no unit is sold twice.

Each order is one Lua script, so Redis logs it whole or not at all. With
`appendfsync always` an order is on disk before Redis answers it, so no acknowledged
order can be lost; with `everysec` (Redis's default) up to the last second of them can,
which is why the README asks for `always` in production.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import redis

from tests.faults.served import Burst, free_port, publish_plan, published, reconcile, served


@contextmanager
def own_redis(workdir: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """redis-server on `port` with its append-only file in `workdir`."""
    command = [
        "redis-server",
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(workdir),
        "--appendonly", "yes",
        "--appendfsync", "always",
        "--save", "",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.RedisError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        client.close()


def test_redis_killed_mid_burst_loses_no_acknowledged_order(tmp_path: Path) -> None:
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    with (
        own_redis(tmp_path, port) as first,
        served(tmp_path, OMNISTOCK_REDIS_URL=url) as (
            server,
            headers,
        ),
    ):
        publish_plan(server.base, headers, "publish-1")
        before = published(server.base, headers)

        burst, stop = Burst(), threading.Event()
        clients = threading.Thread(target=burst.run, args=(server.base, headers, 6, stop))
        clients.start()
        deadline = time.monotonic() + 30
        while burst.total() < 120 and time.monotonic() < deadline:
            time.sleep(0.005)
        first.kill()  # kill -9 under the burst
        first.wait()
        time.sleep(0.3)  # orders meanwhile fail: they must not count as taken
        stop.set()
        clients.join()
        assert burst.total() >= 120

        with own_redis(tmp_path, port):  # the same append-only file, replayed
            deadline = time.monotonic() + 30
            while True:
                try:
                    after = published(server.base, headers)
                    break
                except (httpx.HTTPError, ValueError, TypeError, KeyError):
                    assert time.monotonic() < deadline, "the API did not reach Redis again"
                    time.sleep(0.2)
            reconcile(before, after, burst)
