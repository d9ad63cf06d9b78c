"""What holds for every report (Hypothesis, on random small inputs): totals by shop, by
day and in all are one number; sell-through is a share; a stockout day is a day the SKU
sold elsewhere; avoidable lost sales are the scenarios' rule, checked against a plain
loop over SKUs, days and shops."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from engine.reports.figures import avoidable, build_report, lost_demand, stockout_days
from engine.reports.inputs import PlanInput, ReportInputs


@st.composite
def report_inputs(draw: st.DrawFn) -> ReportInputs:
    n_skus = draw(st.integers(1, 4))
    n_shops = draw(st.integers(1, 3))
    n_days = draw(st.integers(1, 5))
    shape = (n_skus, n_shops, n_days)
    units = draw(arrays(np.int64, shape, elements=st.integers(0, 6)))
    out = draw(arrays(np.bool_, shape))
    units = np.where(out, 0, units)  # a shop listing 0 sells nothing that day
    covered = draw(arrays(np.bool_, shape)) | out
    units = np.where(covered, units, 0)
    listed = draw(arrays(np.int64, shape, elements=st.integers(-1, 8)))
    left = draw(arrays(np.int64, n_skus, elements=st.integers(0, 12)))
    sold = units.sum(axis=1)
    after = np.cumsum(sold[:, ::-1], axis=1)[:, ::-1] - sold
    start = date(2026, 11, 1)
    return ReportInputs(
        tenant="t",
        brand="b",
        brand_name="B",
        kind="campaign",
        start=start,
        end=start + timedelta(days=n_days - 1),
        as_of=datetime(2026, 12, 1, tzinfo=UTC),
        skus=tuple(f"K{k}" for k in range(n_skus)),
        categories=tuple(draw(st.sampled_from(["x", "y"])) for _ in range(n_skus)),
        price_fen=draw(arrays(np.int64, n_skus, elements=st.integers(1, 99_999))),
        shops=tuple(f"s{p}" for p in range(n_shops)),
        units=units,
        listed=listed,
        out_of_stock=out,
        covered=covered,
        stock_end=left[:, None] + after,
        listed_end=draw(arrays(np.int64, (n_skus, n_shops), elements=st.integers(0, 5))),
        plans=tuple(
            PlanInput(
                f"p{k}", draw(arrays(np.int64, (n_skus, n_shops), elements=st.integers(0, 9)))
            )
            for k in range(draw(st.integers(0, 2)))
        ),
    )


@settings(max_examples=80, deadline=None)
@given(report_inputs())
def test_totals_by_shop_by_day_and_in_all_agree(inputs: ReportInputs) -> None:
    report = build_report(inputs)
    for section in report.sections:  # every section fills its tables or says why not
        assert (section.empty is None) == bool(section.tables), section.key
        for table in section.tables:
            assert all(len(row) == len(table.columns) for row in table.rows), table.key
    plan = report.section("plan")
    for row, plan_input in zip(
        plan.tables[0].rows if plan.tables else (), _per_shop(inputs), strict=True
    ):
        assert row[2:4] == plan_input
    sales = report.section("sales")
    if sales.empty is not None:
        assert int(inputs.units.sum()) == 0 or not inputs.covered.any()
        return
    total = sum(int(u) for u in inputs.units.flat)
    gmv = sum(
        int(inputs.units[s, p, d]) * int(inputs.price_fen[s])
        for s, p, d in np.ndindex(inputs.units.shape)
    )
    assert sales.figure("units").value == total
    assert sales.figure("gmv").value == gmv
    assert sum(row[1] for row in sales.table("by_day").rows) == total  # type: ignore[misc]
    assert sum(row[1] for row in sales.table("by_shop").rows) == total  # type: ignore[misc]
    assert sum(row[2] for row in sales.table("by_shop").rows) == gmv  # type: ignore[misc]


def _per_shop(inputs: ReportInputs) -> list[tuple[int, int]]:
    """Per plan and shop: units the plan listed there, units of its SKUs the shop sold."""
    found = []
    for plan in inputs.plans:
        for p in range(len(inputs.shops)):
            listed = sum(int(plan.listed[s, p]) for s in range(len(inputs.skus)))
            sold = sum(
                int(inputs.units[s, p].sum()) for s in range(len(inputs.skus)) if plan.listed[s, p]
            )
            found.append((listed, sold))
    return found


@settings(max_examples=80, deadline=None)
@given(report_inputs())
def test_sell_through_is_a_share_and_stockouts_are_days_sold_elsewhere(
    inputs: ReportInputs,
) -> None:
    stock = build_report(inputs).section("stock")
    if stock.empty is not None:
        return
    through = stock.figure("sell_through").value
    assert isinstance(through, float) and 0.0 <= through <= 1.0
    for row in stock.table("by_category").rows:
        assert 0.0 <= row[3] <= 1.0  # type: ignore[operator]
    out = stockout_days(inputs)
    for s, p, d in zip(*np.nonzero(out), strict=True):
        assert inputs.out_of_stock[s, p, d]
        others = [q for q in range(len(inputs.shops)) if q != p]
        assert any(inputs.units[s, q, d] > 0 for q in others)
    sold_nowhere = inputs.units.sum(axis=1) == 0
    assert not (out & sold_nowhere[:, None, :]).any()
    assert stock.figure("stockout_days").value == int(out.sum())
    assert sum(row[1] for row in stock.table("by_shop").rows) == int(out.sum())  # type: ignore[misc]
    assert stock.figure("units_oversold").value == sum(
        max(int(u) - int(listed), 0)
        for u, listed in zip(inputs.units.flat, inputs.listed.flat, strict=True)
        if listed >= 0
    )


@settings(max_examples=80, deadline=None)
@given(report_inputs())
def test_avoidable_lost_sales_follow_the_scenarios_rule(inputs: ReportInputs) -> None:
    lost = lost_demand(inputs)
    found = avoidable(inputs, lost)
    n_skus, n_shops, n_days = inputs.units.shape
    for s in range(n_skus):
        for d in range(n_days):
            left = max(int(inputs.stock_end[s, d]), 0)
            for p in range(n_shops):  # shops in priority order
                served = min(int(lost[s, p, d]), left)
                assert found[s, p, d] == served, (s, p, d)
                left -= served
    assert (lost[~inputs.out_of_stock] == 0).all()
    stock = build_report(inputs).section("stock")
    if stock.empty is None:
        assert stock.figure("avoidable_lost_sales").value == int(found.sum())
