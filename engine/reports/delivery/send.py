"""Delivering one report to every target under one idempotency key.

Before each target the log is asked whether the report of this key has reached it
already: if so it is skipped, so a firing run again (released after a failure, taken
over from a dead worker, asked twice) sends only to the targets that still lack it.
Each try is logged as it happens; a target that fails does not stop the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from engine.core.settings import Settings
from engine.reports.delivery.chat import ChatRobots
from engine.reports.delivery.log import Attempt, DeliveryLog, Record
from engine.reports.delivery.mail import MailServer, send_mail
from engine.reports.delivery.message import Message, Target
from engine.reports.delivery.retry import Retry

__all__ = ["Senders", "TargetOutcome", "deliver", "overall"]

# sent: by this call; already_sent: by an earlier one (nothing sent now); failed.
TargetResult = Literal["sent", "already_sent", "failed"]
NO_SMTP = "no SMTP server is set (OMNISTOCK_SMTP_HOST): the report was not mailed"


@dataclass(frozen=True)
class TargetOutcome:
    target: Target
    outcome: TargetResult
    attempts: int  # tries made by this call (0 when it was sent before)
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "channel": self.target.channel,
            "target": self.target.shown,
            "outcome": self.outcome,
            "attempts": self.attempts,
            "reason": self.reason,
        }


@dataclass
class Senders:
    """How each channel sends: the SMTP server (None: none is set), the robots (their
    pacing), the retry policy, and how to wait (tests pass a recorder)."""

    mail: MailServer | None
    robots: ChatRobots
    retry: Retry = field(default_factory=Retry)
    sleep: Callable[[float], None] = time.sleep

    @classmethod
    def from_settings(cls, settings: Settings) -> Senders:
        return cls(
            MailServer.from_settings(settings),
            ChatRobots.from_settings(settings),
            Retry.from_settings(settings),
        )

    def close(self) -> None:
        self.robots.close()

    def send(self, message: Message, target: Target, key: str, record: Record) -> Attempt:
        if target.channel == "mail":
            if self.mail is None:
                refused = Attempt("failed", NO_SMTP)
                record(refused)
                return refused
            return send_mail(
                self.mail, self.retry, message, target.address, key, record, self.sleep
            )
        return self.robots.send(message, target, self.retry, record, self.sleep)


def deliver(
    log: DeliveryLog,
    senders: Senders,
    tenant: str,
    brand: str,
    key: str,
    message: Message,
    targets: Sequence[Target],
) -> list[TargetOutcome]:
    """Send `message` to each target that does not have the report of `key` yet; one
    outcome per target, in their order."""
    outcomes: list[TargetOutcome] = []
    for target in targets:
        if log.sent(tenant, key, target):
            outcomes.append(TargetOutcome(target, "already_sent", 0))
            continue
        tries: list[Attempt] = []
        logged = log.recorder(tenant, brand, key, target)

        def record(attempt: Attempt, logged: Record = logged, tries: list[Attempt] = tries) -> None:
            tries.append(attempt)
            logged(attempt)

        try:
            last = senders.send(message, target, key, record)
        except Exception as error:  # a fault of ours on one target: the others still go
            said = f"{type(error).__name__}: {error}".replace(target.address, target.shown)
            last = Attempt("failed", said)
            record(last)
        result: TargetResult = "sent" if last.outcome == "sent" else "failed"
        reason = None if result == "sent" else last.reason
        outcomes.append(TargetOutcome(target, result, len(tries), reason))
    return outcomes


def overall(outcomes: Sequence[TargetOutcome]) -> str:
    """A firing's outcome from its targets': sent (every target has it), failed (none
    has it, or there was no target), else partial."""
    have = sum(o.outcome != "failed" for o in outcomes)
    if outcomes and have == len(outcomes):
        return "sent"
    return "partial" if have else "failed"
