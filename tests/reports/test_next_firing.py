"""When a schedule fires next (`next_firing`, what the console's schedules page shows):
its rules on fixed dates, and day by day agreement with the firings the tick finds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from engine.reports.schedules import CHINA, Schedule, firing_key, next_firing


def _schedule(rule: str, **fields: object) -> Schedule:
    values: dict[str, object] = {
        "id": 7,
        "tenant": "t",
        "brand": "b1",
        "kind": "monthly" if rule == "monthly" else "campaign",
        "rule": rule,
        "start": None,
        "end": None,
        "day": None,
        "lang": "zh",
        "label": None,
        "active": True,
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
        **fields,
    }
    return Schedule(**values)  # type: ignore[arg-type]


def _china(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=CHINA)


def test_next_firing_follows_the_schedules_rules() -> None:
    window = {"start": date(2026, 11, 10), "end": date(2026, 11, 12)}
    after = _schedule("after_window", **window)
    key = firing_key("t", "b1", "campaign", date(2026, 11, 10), date(2026, 11, 12))
    now = _china("2026-11-12", 23)
    assert next_firing(after, now, set()) == _china("2026-11-13", 0)
    later = _china("2026-11-13", 0)
    assert next_firing(after, later, set()) == later  # due: the next tick takes it
    assert next_firing(after, later, {key}) is None  # its one report claimed
    assert next_firing(_schedule("after_window", active=False, **window), now, set()) is None

    demand = _schedule("on_demand", **window)
    assert next_firing(demand, now, {key}) == now  # its own key, not the window's
    assert next_firing(demand, now, {f"{key}/demand-7"}) is None

    monthly = _schedule("monthly", day=5)
    september = firing_key("t", "b1", "monthly", date(2026, 9, 1), date(2026, 9, 30))
    october = firing_key("t", "b1", "monthly", date(2026, 10, 1), date(2026, 10, 31))
    # September's report, due on October 5th, not claimed (a server down): due now.
    assert next_firing(monthly, _china("2026-11-03"), set()) == _china("2026-11-03")
    assert next_firing(monthly, _china("2026-11-03"), {september}) == _china("2026-11-05", 0)
    assert next_firing(monthly, _china("2026-11-05"), set()) == _china("2026-11-05")
    assert next_firing(monthly, _china("2026-11-05"), {october}) == _china("2026-12-05", 0)
    december = next_firing(monthly, _china("2026-12-20"), {"t/b1/monthly/2026-11-01..2026-11-30"})
    assert december == _china("2027-01-05", 0)  # across the year's end
    # Made after this month's day: October's report was never due; next month's is.
    made_late = _schedule("monthly", day=5, created_at=_china("2026-11-08"))
    assert next_firing(made_late, _china("2026-11-09"), set()) == _china("2026-12-05", 0)


@pytest.mark.parametrize(
    "schedule",
    [
        _schedule("monthly", day=1, created_at=_china("2026-01-15")),
        _schedule("monthly", day=28, created_at=_china("2026-01-28", 0)),
        _schedule("after_window", start=date(2026, 3, 1), end=date(2026, 3, 3)),
        _schedule("on_demand", start=date(2026, 3, 1), end=date(2026, 3, 3)),
    ],
    ids=["monthly-1", "monthly-28", "after-window", "on-demand"],
)
def test_next_firing_agrees_with_the_firings_the_tick_finds(schedule: Schedule) -> None:
    """Day by day over 400 days, a tick at noon claiming what is due (none for 70 days: a
    server down): the page says "due now" exactly when the engine's own rule
    (schedules._firings, what due_firings builds on) has an unclaimed firing, and
    otherwise names the first day it will have one."""
    from engine.reports.schedules import _firings  # the rule itself, private

    def unclaimed(day: date, claimed: set[str]) -> list[str]:
        return [f.key for f in _firings(schedule, day) if f.key not in claimed]

    claimed: set[str] = set()
    first = date(2026, 1, 10)
    for offset in range(400):
        today = first + timedelta(days=offset)
        now = datetime.combine(today, datetime.min.time(), CHINA).replace(hour=12)
        due = unclaimed(today, claimed)
        said = next_firing(schedule, now, claimed)
        assert (said == now) == bool(due), today
        if not due:
            ahead = (today + timedelta(days=n) for n in range(1, 70))
            coming = next((day for day in ahead if unclaimed(day, claimed)), None)
            expected = None if coming is None else _china(coming.isoformat(), 0)
            assert said == expected, today
        if not 100 <= offset < 170:  # the tick runs, except while the server is down
            claimed |= set(due)
