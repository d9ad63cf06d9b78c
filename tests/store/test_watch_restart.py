"""A worker's mode watch outlives its Redis connection: when the subscription's thread
dies (the connection killed, or Redis down past redis-py's reconnects), the next read
subscribes again and re-reads the mode, so switches are heard again. On a Redis server
of the test's own (killing connections on the shared one would hit other tests)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from engine.store.redis_store import RedisStore
from engine.store.switch import ModeSwitch
from tests.redis_server import RedisServer

NEVER_S = 600.0  # the watch's own re-read is far off: only the broadcast can tell it


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    redis_server = RedisServer(tmp_path).start()
    yield redis_server
    redis_server.stop()


def _heard(store: RedisStore, count: int) -> bool:
    assert store._watch is not None
    deadline = time.monotonic() + 5
    while store._watch.heard < count:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _subscription_dies(store: RedisStore) -> None:
    assert store._watch is not None and store._watch._subscription is not None
    subscription = store._watch._subscription
    deadline = time.monotonic() + 10
    while subscription.alive():
        assert time.monotonic() < deadline, "the listening thread never noticed"
        time.sleep(0.02)


def test_a_killed_connection_is_subscribed_again(server: RedisServer) -> None:
    worker, other = RedisStore("acme", url=server.url), RedisStore("acme", url=server.url)
    try:
        worker.watch_mode(NEVER_S)
        assert worker.mode_now().mode == "normal"
        other.put_mode(ModeSwitch("peak"))
        assert _heard(worker, 1) and worker.mode_now().mode == "peak"

        admin = redis.Redis.from_url(server.url)
        assert admin.client_kill_filter(_type="pubsub") == 1
        _subscription_dies(worker)
        other.put_mode(ModeSwitch("normal"))  # made while nobody listens
        assert worker.mode_now().mode == "normal", "re-read when the watch restarted"
        assert worker._watch is not None and worker._watch.restarts == 1
        other.put_mode(ModeSwitch("peak"))
        assert _heard(worker, 2), "the new subscription hears broadcasts"
        assert worker.mode_now().mode == "peak"
        admin.close()
    finally:
        worker.close()
        other.close()


def test_redis_down_and_back_is_subscribed_again(server: RedisServer) -> None:
    worker = RedisStore("acme", url=server.url)
    try:
        worker.watch_mode(NEVER_S)
        worker.mode_now()
        server.stop()
        _subscription_dies(worker)
        with pytest.raises(redis.ConnectionError):
            worker.mode_now()  # the API answers this with a 503
        server.start()  # the same port, empty
        assert worker.mode_now().mode == "normal"
        other = RedisStore("acme", url=server.url)
        other.put_mode(ModeSwitch("peak"))
        assert _heard(worker, 1) and worker.mode_now().mode == "peak"
        other.close()
    finally:
        worker.close()
