"""The console's session store, the same contract in this process and in Redis (a
redis-server of the test's own): sessions kept hashed and dropped when their time is
up, and each form id accepted once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import redis

from api.console.session import (
    MemorySessions,
    RedisSessions,
    SessionStore,
    SignInNeeded,
    current,
)
from engine.access.roles import Principal, Role
from tests.redis_server import RedisServer

PRINCIPAL = Principal("0123456789ab", "acme", Role.BRAND_VIEWER, "b1")


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = RedisServer(Path(tmp_path_factory.mktemp("redis"))).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(params=["memory", "redis"])
def sessions(request: pytest.FixtureRequest, redis_url: str) -> SessionStore:
    return MemorySessions() if request.param == "memory" else RedisSessions(redis_url)


def test_a_session_is_kept_until_ended(sessions: SessionStore) -> None:
    session_id, session = sessions.create(PRINCIPAL)
    assert sessions.get(session_id) == session
    assert session.principal == PRINCIPAL and session.read_only
    assert sessions.get(session_id + "x") is None
    sessions.end(session_id)
    assert sessions.get(session_id) is None


def test_a_session_is_dropped_when_its_time_is_up(sessions: SessionStore) -> None:
    session_id, session = sessions.create(PRINCIPAL)
    sessions.save(session_id, replace(session, expires_at=time.time() + 0.3))
    assert sessions.get(session_id) is not None
    time.sleep(1.2)  # the store keeps an entry at least a second
    assert sessions.get(session_id) is None


def test_a_form_id_is_accepted_once_per_session(sessions: SessionStore) -> None:
    first, _ = sessions.create(PRINCIPAL)
    second, _ = sessions.create(PRINCIPAL)
    assert sessions.claim_form(first, "f1")
    assert not sessions.claim_form(first, "f1")
    assert sessions.claim_form(second, "f1")  # another session's form of the same id
    assert sessions.claim_form(first, "f2")


def test_redis_holds_no_session_id_in_the_clear(redis_url: str) -> None:
    session_id, _ = RedisSessions(redis_url).create(PRINCIPAL)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    names = [str(name) for name in client.keys("console:*")]
    assert names and all(session_id not in name for name in names)


def test_session_lifetimes_are_the_settings() -> None:
    from api.app import create_app
    from engine.access.repository import InMemoryKeyRepository
    from engine.core.settings import Settings

    app = create_app(
        Settings(console_idle_s=90, console_lifetime_s=600), keys=InMemoryKeyRepository()
    )
    sessions = app.state.console.sessions
    assert (sessions.idle_s, sessions.lifetime_s) == (90, 600)
    keys = InMemoryKeyRepository()
    key, _ = keys.create("acme", "operator")
    now = time.time()
    session_id, session = sessions.create(keys.authenticate(key), now=now)
    assert session.expires_at == now + 90
    # A request pushes the idle deadline on by 90 s, but never past 600 s after sign-in.
    sessions.save(session_id, replace(session, signed_in_at=now - 400, expires_at=now + 1))
    assert current(sessions, keys, session_id).expires_at == pytest.approx(now + 90, abs=5)
    sessions.save(session_id, replace(session, signed_in_at=now - 530, expires_at=now + 1))
    assert current(sessions, keys, session_id).expires_at == pytest.approx(now + 70, abs=5)
    sessions.save(session_id, replace(session, signed_in_at=now - 700, expires_at=now - 1))
    with pytest.raises(SignInNeeded):
        current(sessions, keys, session_id)
