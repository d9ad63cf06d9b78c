"""Posting to chat group robots, against a real HTTP receiver on loopback standing in for
WeCom and DingTalk: the markdown summary and link arrive, DingTalk's signature checks
out, a message past the robot's limit waits its turn and is never dropped (in memory,
and on Redis shared by two senders as two workers would), temporary answers are retried,
permanent ones failed, and the robot's token is never written to the log."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from engine.reports.delivery.chat import ChatRobots, Pace, check_webhook, robot_body
from engine.reports.delivery.errors import BadRecipient
from engine.reports.delivery.log import DeliveryLog
from engine.reports.delivery.message import Message, Target
from engine.reports.delivery.retry import Retry
from tests.redis_server import free_port
from tests.reports.logs import sqlite_log
from tests.reports.robots import chat_robot

TENANT, BRAND, KEY = "acme", "b1", "acme/b1/campaign/2026-11-10..2026-11-12"
REDIS_URL = "redis://127.0.0.1:6379/11"  # this file's own database
FAST = Retry(attempts=3, backoff_s=0.01, max_backoff_s=0.02)
MESSAGE = Message(
    subject="b1 双11 报告",
    html="<p>unused by robots</p>",
    text="unused by robots",
    summary="- 成交额 ¥1,204,000\n- 售罄率 87.5%",
    link="https://omnistock.example/v1/reports/r-1/report.pdf",
)


@pytest.fixture
def log(tmp_path: Path) -> Iterator[DeliveryLog]:
    with sqlite_log(tmp_path) as log:
        yield log


def _send(
    robots: ChatRobots, target: Target, log: DeliveryLog, waits: list[float] | None = None
) -> tuple[str, str | None]:
    """Send once; the waits for a turn are really slept and noted in `waits`."""

    def sleep(seconds: float) -> None:
        if waits is not None:
            waits.append(seconds)
        time.sleep(seconds)

    record = log.recorder(TENANT, BRAND, KEY, target)
    done = robots.send(MESSAGE, target, FAST, record, sleep=sleep)
    return done.outcome, done.reason


def test_wecom_gets_the_summary_and_the_link_as_markdown(log: DeliveryLog) -> None:
    robots = ChatRobots()
    with chat_robot() as robot:
        target = Target("wecom", robot.webhook("wecom"))
        assert _send(robots, target, log) == ("sent", "ok")
    [post] = robot.posts
    assert post.path == "/cgi-bin/webhook/send" and post.query == {"key": "t0k3n-abcdef"}
    assert post.body["msgtype"] == "markdown"
    content = post.body["markdown"]["content"]
    assert content.startswith("### b1 双11 报告")
    assert "成交额 ¥1,204,000" in content and f"]({MESSAGE.link})" in content
    [row] = log.read(TENANT)
    assert row.target.endswith("/cgi-bin/webhook/send?key=t0k3***") and row.code == 200


def test_dingtalk_is_signed_with_the_robots_secret(log: DeliveryLog) -> None:
    secret = "SEC0123456789abcdef"
    with chat_robot() as robot:
        target = Target("dingtalk", robot.webhook("dingtalk"), secret)
        assert _send(ChatRobots(), target, log)[0] == "sent"
    [post] = robot.posts
    timestamp = post.query["timestamp"]
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    assert post.query["sign"] == base64.b64encode(digest.digest()).decode()
    assert post.body["markdown"]["title"] == MESSAGE.subject
    assert "售罄率 87.5%" in post.body["markdown"]["text"]


def test_the_21st_message_waits_its_turn_in_memory(log: DeliveryLog) -> None:
    # 20 a window as the platforms allow, on a 2-second window to keep the test short.
    # Two senders of one process (two reports sent one after the other) share it.
    one, two = ChatRobots(Pace(20, 2)), ChatRobots(Pace(20, 2))
    with chat_robot() as robot:
        target = Target("wecom", robot.webhook("wecom"))
        waits: list[float] = []
        for n in range(21):
            assert _send(one if n % 2 else two, target, log, waits)[0] == "sent"
    assert len(robot.posts) == 21  # none dropped
    assert len(waits) == 1 and 1.0 < waits[0] <= 2.0  # one wait, for the window to move
    first, twentieth, last = robot.posts[0].at, robot.posts[19].at, robot.posts[20].at
    assert twentieth - first < 1.5
    assert last - first >= 1.9  # it waited for the first to leave the window


def test_two_senders_share_one_budget_per_robot_on_redis(log: DeliveryLog) -> None:
    redis.Redis.from_url(REDIS_URL).ping()  # fails the test when Redis is not there
    one, two = ChatRobots(Pace(20, 2), REDIS_URL), ChatRobots(Pace(20, 2), REDIS_URL)
    with chat_robot() as robot:
        target = Target("wecom", robot.webhook("wecom", token="shared-robot"))
        other = Target("wecom", robot.webhook("wecom", token="another-robot"))
        waits: list[float] = []
        for n in range(20):
            assert _send(one if n % 2 else two, target, log, waits)[0] == "sent"
        # Another robot has its own budget: no wait.
        assert _send(one, other, log, waits)[0] == "sent"
        assert waits == []
        assert _send(two, target, log, waits)[0] == "sent"
        assert len(waits) == 1
    posts = [p for p in robot.posts if p.query["key"] == "shared-robot"]
    assert len(posts) == 21
    assert posts[20].at - posts[0].at >= 1.9
    [theirs] = [p for p in robot.posts if p.query["key"] == "another-robot"]
    assert theirs.at - posts[0].at < 1.5


@pytest.mark.parametrize(
    "answer",
    [(502, {}), (200, {"errcode": 45009, "errmsg": "api freq out of limit"})],
    ids=["http-502", "too-fast"],
)
def test_a_temporary_answer_is_retried(log: DeliveryLog, answer: tuple[int, dict]) -> None:
    with chat_robot() as robot:
        robot.script.append(answer)
        target = Target("wecom", robot.webhook("wecom"))
        assert _send(ChatRobots(), target, log)[0] == "sent"
    assert len(robot.posts) == 2
    assert [r.outcome for r in reversed(log.read(TENANT))] == ["retry", "sent"]


def test_a_permanent_answer_fails_at_once_with_its_reason(log: DeliveryLog) -> None:
    with chat_robot() as robot:
        robot.script.append((200, {"errcode": 310000, "errmsg": "sign not match"}))
        target = Target("dingtalk", robot.webhook("dingtalk", token="secret-token-1"), "SECx")
        outcome, reason = _send(ChatRobots(), target, log)
    assert outcome == "failed" and reason is not None
    assert "errcode 310000 sign not match" in reason
    assert len(robot.posts) == 1


def test_a_robot_nobody_answers_for_is_retried_then_failed_without_its_token(
    log: DeliveryLog,
) -> None:
    token = "never-in-the-log-42"
    target = Target("wecom", f"http://127.0.0.1:{free_port()}/cgi-bin/webhook/send?key={token}")
    outcome, reason = _send(ChatRobots(), target, log)
    assert outcome == "failed" and reason is not None and "gave up after 3 attempts" in reason
    rows = log.read(TENANT)
    assert [r.outcome for r in reversed(rows)] == ["retry", "retry", "failed"]
    assert all(token not in str(r.to_json()) for r in rows)


@pytest.mark.parametrize(
    ("channel", "url", "field"),
    [
        ("wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send", "target"),
        ("dingtalk", "https://oapi.dingtalk.com/robot/send?key=x", "target"),
        ("dingtalk", "ftp://oapi.dingtalk.com/robot/send?access_token=x", "target"),
        ("slack", "https://hooks.slack.com/x", "channel"),
    ],
)
def test_a_webhook_that_is_not_one_is_refused(channel: str, url: str, field: str) -> None:
    with pytest.raises(BadRecipient) as caught:
        check_webhook(channel, url)
    assert caught.value.issues[0].path == field


def test_a_bad_webhook_is_failed_before_posting(log: DeliveryLog) -> None:
    with chat_robot() as robot:
        target = Target("wecom", f"{robot.url}/cgi-bin/webhook/send")
        outcome, reason = _send(ChatRobots(), target, log)
    assert outcome == "failed" and reason is not None and "key=" in reason
    assert robot.posts == []


def test_a_long_summary_is_cut_to_what_a_robot_takes() -> None:
    long = Message("b1 双11 报告", "", "", summary="成交额 ¥1,204,000\n" * 1000, link=MESSAGE.link)
    for channel, field in (("wecom", "content"), ("dingtalk", "text")):
        text = robot_body(channel, long)["markdown"][field]
        assert len(text.encode()) <= 4096  # WeCom's limit for markdown, in bytes
        assert text.startswith("### b1 双11 报告") and text.endswith(f"]({MESSAGE.link})")
