"""Console sessions: signing in with an API key, and who the browser is on each request.

The browser holds only a random session id, in an HttpOnly, SameSite=Lax cookie (Secure
when the console is reached over https). The server keeps the session: the key's id,
tenant, role and brand, the form secret (api/console/csrf.py) and when it ends - never
the key itself. Sessions live in the deployment's Redis when it has one (every API
worker sees them; they expire there on their own), else in this process (the embedded
default runs one worker; a restart signs everyone out).

On every request the key's record is read again: a key revoked while signed in ends
the session at once, with a message saying so. A session ends after `idle_s` without a
request, and `lifetime_s` after sign-in whatever happens (Settings.console_idle_s and
console_lifetime_s: an hour and twelve by default).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, replace

import redis

from engine.access.errors import Unauthenticated
from engine.access.repository import KeyRepository
from engine.access.roles import Principal, Role

COOKIE = "omnistock_console"
# An operator's working day without a sign-in; an hour away from the page ends it
# (the defaults of Settings.console_lifetime_s and console_idle_s).
LIFETIME_S = 12 * 3600.0
IDLE_S = 3600.0


@dataclass(frozen=True)
class ConsoleSession:
    """One signed-in browser, as the server keeps it."""

    key_id: str
    tenant: str
    role: str
    brand: str | None
    csrf_secret: str  # hex: signs the session's forms
    signed_in_at: float  # epoch seconds
    expires_at: float  # the idle deadline, pushed on by each request, capped by the lifetime

    @property
    def principal(self) -> Principal:
        return Principal(self.key_id, self.tenant, Role(self.role), self.brand)

    @property
    def read_only(self) -> bool:
        return self.role == Role.BRAND_VIEWER


class SignInNeeded(Exception):
    """No session, an ended one or a key revoked meanwhile: the sign-in page, saying why
    (`reason` is a key of the interface text, api/console/i18n.py)."""

    def __init__(self, reason: str, **details: str) -> None:
        self.reason = reason
        self.details = details
        super().__init__(reason)


class SessionStore(ABC):
    """Sessions by id, and the form ids already used in each (api/console/csrf.py).
    Ids are kept hashed: whoever reads the store cannot take over a browser's session."""

    def __init__(self, idle_s: float = IDLE_S, lifetime_s: float = LIFETIME_S) -> None:
        self.idle_s = idle_s  # a session ends this long after its last request
        self.lifetime_s = lifetime_s  # and this long after sign-in in any case

    @abstractmethod
    def _put(self, name: str, value: str, ttl_s: float) -> None: ...

    @abstractmethod
    def _get(self, name: str) -> str | None: ...

    @abstractmethod
    def _delete(self, name: str) -> None: ...

    @abstractmethod
    def _add_once(self, name: str, ttl_s: float) -> bool:
        """Set `name` if it is not set; True if this call set it."""

    def create(self, principal: Principal, now: float | None = None) -> tuple[str, ConsoleSession]:
        """A new session for the holder of a checked key: its id (for the cookie) and it."""
        now = time.time() if now is None else now
        session = ConsoleSession(
            key_id=principal.key_id,
            tenant=principal.tenant,
            role=str(principal.role),
            brand=principal.brand,
            csrf_secret=secrets.token_hex(32),
            signed_in_at=now,
            expires_at=min(now + self.idle_s, now + self.lifetime_s),
        )
        session_id = secrets.token_urlsafe(32)
        self.save(session_id, session)
        return session_id, session

    def save(self, session_id: str, session: ConsoleSession) -> None:
        ttl = max(session.expires_at - time.time(), 1.0)
        self._put(_name("session", session_id), json.dumps(asdict(session)), ttl)

    def get(self, session_id: str) -> ConsoleSession | None:
        text = self._get(_name("session", session_id))
        return ConsoleSession(**json.loads(text)) if text is not None else None

    def end(self, session_id: str) -> None:
        self._delete(_name("session", session_id))

    def claim_form(self, session_id: str, form_id: str) -> bool:
        """True the first time a form id is sent in this session, False after."""
        return self._add_once(_name("form", f"{session_id}:{form_id}"), self.lifetime_s)


def _name(kind: str, secret: str) -> str:
    return f"console:{kind}:{hashlib.sha256(secret.encode()).hexdigest()}"


class MemorySessions(SessionStore):
    """Sessions in this process (the embedded default's one worker)."""

    def __init__(self, idle_s: float = IDLE_S, lifetime_s: float = LIFETIME_S) -> None:
        super().__init__(idle_s, lifetime_s)
        self._items: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def _live(self, name: str) -> str | None:
        item = self._items.get(name)
        if item is None or item[1] <= time.time():
            self._items.pop(name, None)
            return None
        return item[0]

    def _put(self, name: str, value: str, ttl_s: float) -> None:
        with self._lock:
            self._items[name] = (value, time.time() + ttl_s)

    def _get(self, name: str) -> str | None:
        with self._lock:
            return self._live(name)

    def _delete(self, name: str) -> None:
        with self._lock:
            self._items.pop(name, None)

    def _add_once(self, name: str, ttl_s: float) -> bool:
        with self._lock:
            if self._live(name) is not None:
                return False
            self._items[name] = ("1", time.time() + ttl_s)
            # Ended sessions' entries go as they are passed over; sweep now and then.
            if len(self._items) % 1024 == 0:
                for stale in [n for n, (_, end) in self._items.items() if end <= time.time()]:
                    del self._items[stale]
            return True


class RedisSessions(SessionStore):
    """Sessions in the deployment's Redis, shared by every API worker; Redis drops each
    when its time is up."""

    def __init__(self, url: str, idle_s: float = IDLE_S, lifetime_s: float = LIFETIME_S) -> None:
        super().__init__(idle_s, lifetime_s)
        self._redis = redis.Redis.from_url(url)

    def _put(self, name: str, value: str, ttl_s: float) -> None:
        self._redis.set(name, value, px=int(ttl_s * 1000))

    def _get(self, name: str) -> str | None:
        value = self._redis.get(name)
        return value.decode() if isinstance(value, bytes) else None

    def _delete(self, name: str) -> None:
        self._redis.delete(name)

    def _add_once(self, name: str, ttl_s: float) -> bool:
        return bool(self._redis.set(name, "1", nx=True, px=int(ttl_s * 1000)))


def session_store(
    redis_url: str | None, idle_s: float = IDLE_S, lifetime_s: float = LIFETIME_S
) -> SessionStore:
    """The deployment's sessions: in its Redis if it has one, else in this process."""
    if redis_url:
        return RedisSessions(redis_url, idle_s, lifetime_s)
    return MemorySessions(idle_s, lifetime_s)


def current(sessions: SessionStore, keys: KeyRepository, session_id: str | None) -> ConsoleSession:
    """The signed-in session of this request, its idle deadline pushed on; SignInNeeded
    when there is none, it has ended, or its key is no longer valid."""
    if not session_id:
        raise SignInNeeded("signin.needed")
    session = sessions.get(session_id)
    now = time.time()
    if session is None or session.expires_at <= now:
        sessions.end(session_id)
        raise SignInNeeded("signin.expired")
    record = keys.get(session.key_id)
    if record is None or record.revoked_at is not None:
        sessions.end(session_id)
        revoked_at = record.revoked_at if record is not None else None
        when = revoked_at.isoformat(timespec="seconds") if revoked_at is not None else ""
        raise SignInNeeded("signin.revoked", key_id=session.key_id, at=when)
    deadline = min(now + sessions.idle_s, session.signed_in_at + sessions.lifetime_s)
    if deadline - session.expires_at > 60:  # write at most once a minute per session
        session = replace(session, expires_at=deadline)
        sessions.save(session_id, session)
    return session


def sign_in(sessions: SessionStore, keys: KeyRepository, key: str) -> tuple[str, ConsoleSession]:
    """A new session for `key`; Unauthenticated (saying why) for a key that is not valid."""
    key = key.strip()
    if not key:
        raise Unauthenticated("no key given")
    return sessions.create(keys.authenticate(key))
