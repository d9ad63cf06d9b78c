"""The delivery log on SQLite and PostgreSQL: attempts numbered per target and key, read
back newest first by tenant, brand or key, a webhook's token never stored in clear, and
`sent` true only for a target the report has reached; and `deliver`, which asks it
before each target, so a report delivered again reaches only those that lack it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.db import migrate
from engine.db.connect import connect
from engine.db.sessions import reading
from engine.reports.delivery.chat import ChatRobots
from engine.reports.delivery.log import Attempt, DeliveryLog
from engine.reports.delivery.mail import MailServer
from engine.reports.delivery.message import Message, Target
from engine.reports.delivery.retry import Retry
from engine.reports.delivery.send import NO_SMTP, Senders, deliver, overall
from engine.reports.tables import ReportDelivery
from tests.db.databases import BACKENDS, blank_database
from tests.reports.robots import chat_robot
from tests.reports.smtp import smtp_server

KEY = "acme/b1/campaign/2026-11-10..2026-11-12"
MAIL = Target("mail", "buyer@brand.example")
TOKEN = "9f1c2d3e4b5a69788796a5b4c3d2e1f0"
ROBOT = Target("dingtalk", f"https://oapi.dingtalk.com/robot/send?access_token={TOKEN}", "SECx")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 13, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture(params=BACKENDS)
def log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DeliveryLog]:
    with blank_database(request.param, tmp_path) as url:
        migrate.upgrade(url)
        engine = connect(url)
        try:
            yield DeliveryLog(engine, Clock())
        finally:
            engine.dispose()


def test_attempts_are_numbered_per_target_and_read_newest_first(log: DeliveryLog) -> None:
    log.record("acme", "b1", KEY, MAIL, Attempt("retry", "421 try later", 421))
    log.record("acme", "b1", KEY, ROBOT, Attempt("sent", "ok", 200))
    log.record("acme", "b1", KEY, MAIL, Attempt("sent", "accepted", 250))
    log.record("acme", "b2", "acme/b2/monthly/2026-10-01..2026-10-31", MAIL, Attempt("sent"))
    log.record("other", "b1", KEY, MAIL, Attempt("failed", "550", 550))
    rows = log.read("acme", key=KEY)
    assert [(r.channel, r.attempt, r.outcome, r.code) for r in rows] == [
        ("mail", 2, "sent", 250),
        ("dingtalk", 1, "sent", 200),
        ("mail", 1, "retry", 421),
    ]
    assert [r.brand for r in log.read("acme")] == ["b2", "b1", "b1", "b1"]
    assert [r.key for r in log.read("acme", brand="b2")] == [
        "acme/b2/monthly/2026-10-01..2026-10-31"
    ]
    assert len(log.read("acme", limit=2)) == 2
    # Another tenant's attempt at the same key is its own: numbered 1, not seen by acme.
    [theirs] = log.read("other")
    assert theirs.attempt == 1 and theirs.outcome == "failed"
    body = rows[0].to_json()
    assert body["at"] == "2026-11-13T01:00:03+00:00" and body["target"] == MAIL.address


def test_sent_only_once_the_target_has_it(log: DeliveryLog) -> None:
    assert not log.sent("acme", KEY, MAIL)
    log.record("acme", "b1", KEY, MAIL, Attempt("retry", "421", 421))
    log.record("acme", "b1", KEY, ROBOT, Attempt("failed", "errcode 310000", 200))
    assert not log.sent("acme", KEY, MAIL) and not log.sent("acme", KEY, ROBOT)
    log.record("acme", "b1", KEY, MAIL, Attempt("sent", "accepted", 250))
    assert log.sent("acme", KEY, MAIL)
    assert not log.sent("acme", "acme/b1/campaign/2026-06-01..2026-06-18", MAIL)
    assert not log.sent("other", KEY, MAIL)
    # Another robot whose token shares the first characters is another target.
    twin = Target("dingtalk", ROBOT.address[:-1] + "x")
    log.record("acme", "b1", KEY, ROBOT, Attempt("sent", "ok", 200))
    assert log.sent("acme", KEY, ROBOT) and not log.sent("acme", KEY, twin)
    assert twin.shown == ROBOT.shown


def test_a_webhook_token_and_secret_are_never_stored(log: DeliveryLog) -> None:
    log.record("acme", "b1", KEY, ROBOT, Attempt("sent", "ok", 200))
    [row] = log.read("acme")
    assert row.target == "https://oapi.dingtalk.com/robot/send?access_token=9f1c***"
    engine = log.engine
    with reading(engine) as session:
        stored = session.scalars(select(ReportDelivery)).one()
        values = [str(getattr(stored, c.key)) for c in ReportDelivery.__table__.columns]
    assert not any(TOKEN in v or "SECx" in v for v in values)


def test_deliver_sends_each_target_once_and_goes_on_past_a_failure(
    log: DeliveryLog, tmp_path: Path
) -> None:
    message = Message("b1 双11", "<p>GMV</p>", "GMV", summary="GMV ¥1", link="https://x.example")
    with smtp_server() as smtp, chat_robot() as robot:
        server = MailServer("127.0.0.1", smtp.port, "r@agency.example", starttls=False)
        senders = Senders(server, ChatRobots(), Retry(2, 0.0), sleep=lambda _: None)
        targets = [
            Target("mail", "not an address"),
            Target("mail", "buyer@brand.example"),
            Target("wecom", robot.webhook("wecom")),
        ]
        first = deliver(log, senders, "acme", "b1", KEY, message, targets)
        again = deliver(log, senders, "acme", "b1", KEY, message, targets)
        other_window = deliver(log, senders, "acme", "b1", KEY + "x", message, targets[1:])
    assert [(o.outcome, o.attempts) for o in first] == [("failed", 1), ("sent", 1), ("sent", 1)]
    assert first[0].reason is not None and "'not an address'" in first[0].reason
    assert overall(first) == "partial"
    # Asked again: the targets that have it are skipped; the bad one fails again.
    assert [o.outcome for o in again] == ["failed", "already_sent", "already_sent"]
    assert [o.outcome for o in other_window] == ["sent", "sent"]
    assert len(smtp.inbox.mails) == 2 and len(robot.posts) == 2
    attempts = [(r.target, r.attempt) for r in log.read("acme", key=KEY) if r.channel == "mail"]
    assert sorted(attempts) == [
        ("buyer@brand.example", 1),
        ("not an address", 1),
        ("not an address", 2),
    ]
    assert first[1].to_json() == {
        "channel": "mail",
        "target": "buyer@brand.example",
        "outcome": "sent",
        "attempts": 1,
        "reason": None,
    }


def test_without_an_smtp_server_mail_fails_and_chat_still_goes(log: DeliveryLog) -> None:
    message = Message("b1", "<p>x</p>", "x", summary="x")
    with chat_robot() as robot:
        senders = Senders(None, ChatRobots(), Retry(1), sleep=lambda _: None)
        targets = [Target("mail", "buyer@brand.example"), Target("wecom", robot.webhook("wecom"))]
        outcomes = deliver(log, senders, "acme", "b1", KEY, message, targets)
    assert [o.outcome for o in outcomes] == ["failed", "sent"]
    assert outcomes[0].reason == NO_SMTP
    assert overall(outcomes) == "partial" and overall(outcomes[1:]) == "sent"
    assert overall(outcomes[:1]) == "failed" and overall([]) == "failed"


class _Broken(ChatRobots):
    """A sender with a bug that names the whole webhook in its error."""

    def send(self, message: Message, target: Target, *args: object, **kwargs: object) -> Attempt:
        raise RuntimeError(f"unexpected answer from {target.address}")


def test_a_fault_on_one_target_is_logged_without_its_token(log: DeliveryLog) -> None:
    message = Message("b1", "<p>x</p>", "x", summary="x")
    with smtp_server() as smtp:
        server = MailServer("127.0.0.1", smtp.port, "r@agency.example", starttls=False)
        senders = Senders(server, _Broken(), Retry(1), sleep=lambda _: None)
        outcomes = deliver(log, senders, "acme", "b1", KEY, message, [ROBOT, MAIL])
    assert [o.outcome for o in outcomes] == ["failed", "sent"]
    assert outcomes[0].reason == f"RuntimeError: unexpected answer from {ROBOT.shown}"
    assert all(TOKEN not in str(r.to_json()) for r in log.read("acme"))
