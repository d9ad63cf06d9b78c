"""Posting a report's summary and link to a chat group through its robot's webhook:
WeCom (企业微信群机器人) and DingTalk (钉钉自定义机器人), both as markdown.

Each robot takes at most 20 messages a minute; past it WeCom answers errcode 45009 and
DingTalk mutes the robot for ten minutes. So every post first takes a turn from a moving
window per robot (the `limits` package, as engine/access/rate_limit.py counts API
requests): in Redis when the deployment has one, so every worker shares one budget per
robot, else in this process's memory, shared by every sender made in it (each process of
the local pool counts its own: one process unless OMNISTOCK_JOB_WORKERS says more). A
post past the limit waits for its turn; it is never dropped. A robot that answers "too
fast" anyway (another program posts to it too) is a temporary failure, retried after the
backoff, as are 5xx and lost connections; an errcode of a bad token, a bad signature or
a blocked keyword is permanent.

A DingTalk robot with "sign" security gets `timestamp` and `sign` (HMAC-SHA256 of the
timestamp and the secret, in base64) on its URL, as its documentation prescribes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlsplit

import httpx
from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from engine.core.settings import Settings
from engine.reports.delivery.errors import BadRecipient
from engine.reports.delivery.log import Attempt, Record
from engine.reports.delivery.message import Message, Target, shown_url
from engine.reports.delivery.retry import Retry, with_retries

__all__ = ["ChatRobots", "check_webhook", "robot_body"]

KEY_PREFIX = "omnistock-robots"  # beside the API's omnistock-ratelimit keys
# The query parameter carrying each platform's robot token.
TOKEN = {"wecom": "key", "dingtalk": "access_token"}
# errcodes that mean "too many messages, later": WeCom's API frequency limit, DingTalk's
# "send too fast" (the robot muted for a while).
_TOO_FAST = {45009, 130101}
# A summary longer than this is cut: WeCom takes 4096 bytes of markdown.
SUMMARY_BYTES = 3500


def check_webhook(channel: str, url: str, field: str = "target") -> str:
    """The URL, if it is a robot's webhook (http(s), a host, its token parameter);
    BadRecipient naming it (token cut) if not."""
    if channel not in TOKEN:
        raise BadRecipient("channel", channel, "is not a chat channel (wecom or dingtalk)")
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRecipient(field, shown_url(url), "is not an http(s) webhook URL")
    if not query.get(TOKEN[channel]):
        why = f"has no {TOKEN[channel]}= (the {channel} robot's token)"
        raise BadRecipient(field, shown_url(url), why)
    return url


def robot_body(channel: str, message: Message) -> dict[str, Any]:
    """The JSON a robot is posted: a markdown title line, the summary, the link."""
    summary = message.summary.encode()[:SUMMARY_BYTES].decode("utf-8", "ignore")
    lines = [f"### {message.subject}", summary]
    if message.link:
        lines.append(f"[{message.link}]({message.link})")
    text = "\n\n".join(line for line in lines if line)
    if channel == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": message.subject, "text": text}}
    return {"msgtype": "markdown", "markdown": {"content": text}}


def signed_url(url: str, secret: str, now_ms: int) -> str:
    """DingTalk's signed URL: `timestamp` (ms) and `sign` added."""
    digest = hmac.new(secret.encode(), f"{now_ms}\n{secret}".encode(), hashlib.sha256)
    sign = quote_plus(base64.b64encode(digest.digest()).decode())
    joiner = "&" if urlsplit(url).query else "?"
    return f"{url}{joiner}timestamp={now_ms}&sign={sign}"


_MEMORY: list[MemoryStorage] = []
_MEMORY_LOCK = threading.Lock()


def _memory() -> MemoryStorage:
    """This process's one count of posts per robot: every sender made in it (one per
    report sent, one per tick) takes turns from the same budget."""
    with _MEMORY_LOCK:
        if not _MEMORY:
            _MEMORY.append(MemoryStorage())
        return _MEMORY[0]


@dataclass(frozen=True)
class Pace:
    """At most `per` messages in any `window_s` seconds per robot."""

    per: int = 20
    window_s: int = 60


class ChatRobots:
    """Posts to robots, paced per robot; `redis_url` shares the pace across processes."""

    def __init__(
        self,
        pace: Pace = Pace(),
        redis_url: str | None = None,
        timeout_s: float = 10.0,
        client: httpx.Client | None = None,
    ) -> None:
        self._item = RateLimitItemPerSecond(pace.per, pace.window_s)
        self._storage: Storage = (
            RedisStorage(redis_url, key_prefix=KEY_PREFIX) if redis_url else _memory()
        )
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._client = client or httpx.Client(timeout=timeout_s)
        self._timeout_s = timeout_s

    @classmethod
    def from_settings(cls, settings: Settings) -> ChatRobots:
        return cls(Pace(settings.chat_per_minute, 60), settings.redis_url, settings.chat_timeout_s)

    def close(self) -> None:
        self._client.close()

    def take_turn(self, target: Target, sleep: Callable[[float], None] = time.sleep) -> float:
        """Wait until the robot may take one more message; returns the seconds waited."""
        waited = 0.0
        robot = target.hash  # the robot's identity, its token not kept in Redis keys
        while not self._limiter.hit(self._item, robot):
            reset_at = self._limiter.get_window_stats(self._item, robot).reset_time
            pause = max(0.05, reset_at - time.time())
            sleep(pause)
            waited += pause
        return waited

    def send(
        self,
        message: Message,
        target: Target,
        retry: Retry,
        record: Record,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Attempt:
        """Post `message` to the robot of `target`, retrying temporary failures; `record`
        is called after each try. Returns the last try's outcome."""
        try:
            check_webhook(target.channel, target.address)
        except BadRecipient as error:
            refused = Attempt("failed", str(error.issues[0]))
            record(refused)
            return refused
        body = robot_body(target.channel, message)

        def try_once() -> Attempt:
            self.take_turn(target, sleep)
            return self._try_once(target, body)

        return with_retries(try_once, retry, record, sleep)

    def _try_once(self, target: Target, body: dict[str, Any]) -> Attempt:
        url = target.address
        if target.channel == "dingtalk" and target.secret:
            url = signed_url(url, target.secret, int(time.time() * 1000))
        where = f"posting to {target.shown}"
        try:
            response = self._client.post(url, json=body)
        except httpx.TimeoutException:
            return Attempt("retry", f"{where}: no answer within {self._timeout_s:g} s")
        except httpx.HTTPError as error:
            # Refused, reset, a name that does not resolve: the URL's token is cut.
            why = str(error).replace(url, target.shown).replace(target.address, target.shown)
            return Attempt("retry", f"{where}: {type(error).__name__}: {why}")
        status = response.status_code
        if status >= 500 or status == 429:
            return Attempt("retry", f"{where}: HTTP {status}", status)
        if status >= 400:
            return Attempt("failed", f"{where}: HTTP {status}", status)
        try:
            answer = response.json()
            code = int(answer.get("errcode", 0))
            said = str(answer.get("errmsg", ""))
        except (ValueError, AttributeError, TypeError):
            return Attempt("failed", f"{where}: HTTP {status}, not a robot's answer", status)
        if code == 0:
            return Attempt("sent", said or "ok", status)
        reason = f"{where}: errcode {code} {said}".strip()
        return Attempt("retry" if code in _TOO_FAST else "failed", reason, status)
