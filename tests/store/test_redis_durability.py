"""Whether a Redis keeps every acknowledged order through a crash, as the API checks at
start: appendonly yes with appendfsync always, and nothing less."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.app import create_app
from engine.access.repository import InMemoryKeyRepository
from engine.core.settings import Settings
from engine.store.redis_store import durability_gaps
from tests.faults.test_kill_redis import own_redis
from tests.redis_server import RedisServer, free_port


def test_appendfsync_always_has_no_gap(tmp_path: Path) -> None:
    port = free_port()
    with own_redis(tmp_path, port):
        assert durability_gaps(f"redis://127.0.0.1:{port}/0") == []


def test_a_redis_without_its_log_is_named(tmp_path: Path) -> None:
    server = RedisServer(tmp_path).start()  # saves nothing to disk
    try:
        assert durability_gaps(f"redis://127.0.0.1:{server.port}/0") == [
            "appendonly is 'no', not 'yes'"
        ]
    finally:
        server.stop()


def test_the_app_warns_at_start(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    server = RedisServer(tmp_path).start()
    try:
        url = f"redis://127.0.0.1:{server.port}/0"
        app = create_app(Settings(redis_url=url), keys=InMemoryKeyRepository())
        assert "appendonly is 'no'" in caplog.text
        for resource in app.state.owned:
            resource.close()
    finally:
        server.stop()
