"""The two-way check: every warning class from a crafted snapshot, none from a clean
one, and the guard that peak mode puts around a publish."""

from __future__ import annotations

from typing import Any

import pytest

from engine.checks.findings import StockWarning
from engine.checks.publish import (
    PublishRefused,
    check_after_publish,
    guarded_publish,
    precheck_publish,
)
from engine.checks.two_way import check_stock
from engine.core.plan import Plan
from engine.core.snapshot import Snapshot
from tests.helpers import plan, snapshot

SHOPS = (("A", 1), ("B", 2), ("C", 3))
SHARES = [{"id": "r1", "type": "percentage", "shares": {"A": 0.5, "B": 0.3, "C": 0.2}}]
VELOCITY = {(s, shop): v for s in ("S", "T") for shop, v in (("A", 3.0), ("B", 2.0), ("C", 1.0))}


def shop_snapshot(
    pools: dict[str, int] | None = None,
    listed: dict[tuple[str, str], int] | None = None,
    velocity: dict[tuple[str, str], float] | None = None,
    **kwargs: Any,
) -> Snapshot:
    return snapshot(
        pools=pools or {"S": 100, "T": 50},
        shops=SHOPS,
        velocity=VELOCITY if velocity is None else velocity,
        listed=listed,
        **kwargs,
    )


def published(snap: Snapshot) -> Plan:
    return plan(snap, SHARES, mode=snap.mode)


def as_planned(p: Plan) -> dict[tuple[str, str], int]:
    return {(a.sku, a.shop): a.quantity + a.shared for a in p.allocations if a.listed}


def codes(warnings: list[StockWarning]) -> set[tuple[str, str, str, str | None]]:
    return {(w.code, w.severity, w.sku, w.shop) for w in warnings}


def test_a_clean_snapshot_raises_nothing() -> None:
    the_plan = published(shop_snapshot())
    clean = shop_snapshot(listed=as_planned(the_plan))
    assert check_stock(clean, the_plan) == []
    assert check_stock(clean) == []
    assert precheck_publish(the_plan, clean) == []


def test_every_warning_class_from_a_crafted_snapshot() -> None:
    the_plan = published(shop_snapshot())  # S: A 50, B 30, C 20; T: A 25, B 15, C 10
    listed = as_planned(the_plan)
    listed[("S", "A")] = 60  # above the plan, within stock
    listed[("S", "B")] = 10  # 20 short of the plan: drift
    listed[("T", "A")] = 0
    listed[("T", "B")] = 0
    listed[("T", "C")] = 0  # T listed nowhere while the plan lists it: stranded
    crafted = shop_snapshot(listed=listed)
    found = codes(check_stock(crafted, the_plan))
    assert found == {
        ("oversell_risk", "medium", "S", "A"),
        ("drift", "low", "S", "B"),
        ("stranded_stock", "medium", "T", None),
    }

    # Stock gone since the plan: the listings now exceed it, and a dead listing.
    fresh = shop_snapshot(pools={"S": 40, "T": 0}, listed=as_planned(the_plan))
    found = codes(check_stock(fresh, the_plan))
    assert ("oversell_risk", "high", "S", "A") in found
    assert {("dead_listing", "high", "T", s) for s in "ABC"} <= found

    # Each shop within stock, together above it (no plan to compare with).
    crowded = shop_snapshot(pools={"S": 100, "T": 0}, listed={("S", "A"): 70, ("S", "B"): 70})
    assert ("oversell_risk", "high", "S", None) in codes(check_stock(crowded))

    # Listed only where it does not sell, while a shop that sells it runs out.
    idle = shop_snapshot(
        pools={"S": 100},
        listed={("S", "C"): 80, ("S", "A"): 2},
        velocity={("S", "A"): 5.0, ("S", "B"): 1.0},
    )
    warnings = [w for w in check_stock(idle) if w.code == "stranded_stock"]
    assert len(warnings) == 1
    assert warnings[0].fix == "move 68 units of S from C to A"


def test_every_warning_has_a_fix_and_high_comes_first() -> None:
    the_plan = published(shop_snapshot())
    fresh = shop_snapshot(pools={"S": 40, "T": 0}, listed={("S", "B"): 3, ("T", "A"): 1})
    warnings = check_stock(fresh, the_plan)
    assert warnings and all(w.fix and w.message for w in warnings)
    severities = [w.severity for w in warnings]
    assert severities == sorted(severities, key=["high", "medium", "low"].index)


def test_precheck_finds_a_plan_the_fresh_stock_cannot_carry() -> None:
    the_plan = published(shop_snapshot())
    fresh = shop_snapshot(pools={"S": 60, "T": 50})
    warnings = precheck_publish(the_plan, fresh)
    assert ("oversell_risk", "high", "S", None) in codes(warnings)
    assert all(w.source == "plan" for w in warnings)


class Platform:
    """A stand-in marketplace: records publishes, reads back what it holds."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self.published: list[str] = []

    def publish(self, p: Plan) -> str:
        self.published.append(p.plan_id)
        return f"v{len(self.published)}"

    def read_back(self) -> Snapshot:
        return self.snap


def test_peak_mode_refuses_a_publish_whose_precheck_fails() -> None:
    the_plan = published(shop_snapshot(mode="peak"))
    assert the_plan.mode == "peak"
    fresh = shop_snapshot(pools={"S": 60, "T": 50}, mode="peak")
    platform = Platform(fresh)
    with pytest.raises(PublishRefused) as refused:
        guarded_publish(the_plan, fresh, platform.publish, platform.read_back)
    assert platform.published == []
    assert refused.value.plan_id == the_plan.plan_id
    assert all(w.severity == "high" for w in refused.value.warnings)
    assert "refused" in str(refused.value)


def test_peak_mode_checks_before_and_after_a_safe_publish() -> None:
    snap = shop_snapshot(mode="peak")
    the_plan = published(snap)
    platform = Platform(shop_snapshot(mode="peak", listed=as_planned(the_plan)))
    outcome = guarded_publish(the_plan, snap, platform.publish, platform.read_back)
    assert platform.published == [the_plan.plan_id] and outcome.receipt == "v1"
    assert outcome.precheck == [] and outcome.postcheck == []
    # The platform kept an old quantity: the post-check sees it.
    stale = as_planned(the_plan) | {("S", "A"): 90}
    platform.snap = shop_snapshot(mode="peak", listed=stale)
    outcome = guarded_publish(the_plan, snap, platform.publish, platform.read_back)
    assert outcome.postcheck is not None
    assert ("oversell_risk", "medium", "S", "A") in codes(outcome.postcheck)
    assert check_after_publish(the_plan, platform.snap) == outcome.postcheck


def test_normal_mode_publishes_and_reports_the_precheck() -> None:
    the_plan = published(shop_snapshot())
    fresh = shop_snapshot(pools={"S": 60, "T": 50})
    platform = Platform(fresh)
    outcome = guarded_publish(the_plan, fresh, platform.publish, platform.read_back)
    assert platform.published == [the_plan.plan_id]
    assert outcome.precheck and outcome.postcheck is None
    with pytest.raises(PublishRefused):
        guarded_publish(the_plan, fresh, platform.publish, peak=True)
