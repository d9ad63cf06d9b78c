"""Trying again after a temporary failure: the policy (how many tries, how long between)
and the loop both senders run, recording every try."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from engine.core.settings import Settings
from engine.reports.delivery.log import Attempt, Record

__all__ = ["Retry", "with_retries"]


@dataclass(frozen=True)
class Retry:
    """`attempts` tries in all, waiting `backoff_s` after the first, then twice as long
    each time, never more than `max_backoff_s`."""

    attempts: int = 5
    backoff_s: float = 30.0
    max_backoff_s: float = 600.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Retry:
        return cls(
            settings.delivery_attempts,
            settings.delivery_backoff_s,
            settings.delivery_backoff_max_s,
        )

    def wait_s(self, attempt: int) -> float:
        """The wait after the `attempt`-th try (1, 2, ...)."""
        return float(min(self.backoff_s * 2 ** (attempt - 1), self.max_backoff_s))


def with_retries(
    try_once: Callable[[], Attempt],
    retry: Retry,
    record: Record,
    sleep: Callable[[float], None] = time.sleep,
) -> Attempt:
    """Call `try_once` until it is not a temporary failure or the tries are used up (the
    last temporary failure is then failed, saying so); `record` sees every try."""
    attempt = 1
    while True:
        outcome = try_once()
        if outcome.outcome == "retry" and attempt >= retry.attempts:
            reason = f"{outcome.reason} (gave up after {attempt} attempts)"
            outcome = Attempt("failed", reason, outcome.code)
        record(outcome)
        if outcome.outcome != "retry":
            return outcome
        sleep(retry.wait_s(attempt))
        attempt += 1
