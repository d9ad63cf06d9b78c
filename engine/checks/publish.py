"""The check around a publish. In peak mode (Double-11) it runs before and after every
publish, and a publish whose pre-check finds a high-severity warning is refused: a
plan made minutes ago may promise stock that orders have since taken.

The HTTP publish route calls `guarded_publish` with its own publisher and read-back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.checks.findings import CheckThresholds, StockWarning, at_least
from engine.checks.two_way import check_plan, check_stock
from engine.core.errors import OmnistockError
from engine.core.plan import Plan
from engine.core.snapshot import Snapshot


class PublishRefused(OmnistockError):
    """The pre-check found warnings that make the plan unsafe to publish."""

    def __init__(self, plan_id: str, warnings: list[StockWarning]) -> None:
        self.plan_id = plan_id
        self.warnings = warnings
        shown = "\n".join(f"  - {w.sku} {w.shop or ''}: {w.message}" for w in warnings[:20])
        more = f"\n  ... and {len(warnings) - 20} more" if len(warnings) > 20 else ""
        super().__init__(
            f"publish of {plan_id} refused: {len(warnings)} high-severity warning(s)\n{shown}{more}"
        )


@dataclass
class PublishOutcome:
    receipt: Any  # whatever the publisher returned
    precheck: list[StockWarning]
    postcheck: list[StockWarning] | None  # None: no read-back to check
    notes: list[str] = field(default_factory=list)


def precheck_publish(plan: Plan, fresh_snapshot: Snapshot) -> list[StockWarning]:
    """Warnings that the plan, published now, would oversell the fresh stock."""
    return check_plan(plan, fresh_snapshot)


def check_after_publish(
    plan: Plan, read_back: Snapshot, limits: CheckThresholds | None = None
) -> list[StockWarning]:
    """The platform's read-back (its listings) against the plan just published."""
    return check_stock(read_back, plan, limits)


def guarded_publish(
    plan: Plan,
    fresh_snapshot: Snapshot,
    publish: Callable[[Plan], Any],
    read_back: Callable[[], Snapshot] | None = None,
    peak: bool | None = None,
) -> PublishOutcome:
    """Publish the plan; in peak mode (default: the plan's or the snapshot's mode) refuse
    it when the pre-check fails, and check the read-back afterwards."""
    if peak is None:
        peak = "peak" in (plan.mode, fresh_snapshot.mode)
    before = precheck_publish(plan, fresh_snapshot)
    blocking = at_least(before, "high")
    if peak and blocking:
        raise PublishRefused(plan.plan_id, blocking)
    receipt = publish(plan)
    if not peak:
        return PublishOutcome(receipt, before, None, ["normal mode: no post-check"])
    if read_back is None:
        return PublishOutcome(receipt, before, None, ["no read-back given: post-check skipped"])
    return PublishOutcome(receipt, before, check_after_publish(plan, read_back()))
