"""Typed errors of a report's request: each names the field at fault, so the CLI exits 2
and the API answers 422 with the field, never a stack trace."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from engine.core.errors import InputError, Issue

__all__ = [
    "MAX_WINDOW_DAYS",
    "EmptyWindow",
    "FutureWindow",
    "UnknownBrand",
    "WindowTooLong",
    "check_window",
]

# A year and a day: a monthly report of a leap year's month is far inside it, and the
# snapshot's history reaches back no further (engine/core/snapshot.py MAX_HISTORY_DAYS).
MAX_WINDOW_DAYS = 366

_SOURCE = "report"


class UnknownBrand(InputError):
    """A brand the tenant's snapshot does not have."""

    def __init__(self, brand: str, known: Sequence[str]) -> None:
        self.brand = brand
        shown = ", ".join(sorted(known)) or "none"
        super().__init__([Issue("brand", f"unknown brand {brand!r} (known: {shown})")], _SOURCE)


class EmptyWindow(InputError):
    """A window whose start is after its end."""

    def __init__(self, start: date, end: date) -> None:
        self.start, self.end = start, end
        message = f"{start} is after the window's end {end}: the window has no day"
        super().__init__([Issue("from", message)], _SOURCE)


class FutureWindow(InputError):
    """A window that starts after today: nothing has sold in it yet."""

    def __init__(self, start: date, today: date) -> None:
        self.start, self.today = start, today
        message = f"{start} is after today {today}: the window has not begun"
        super().__init__([Issue("from", message)], _SOURCE)


class WindowTooLong(InputError):
    """A window of more days than a report covers."""

    def __init__(self, start: date, end: date) -> None:
        self.start, self.end = start, end
        days = (end - start).days + 1
        message = f"{days} days from {start}: a report covers at most {MAX_WINDOW_DAYS} days"
        super().__init__([Issue("to", message)], _SOURCE)


def check_window(start: date, end: date, today: date) -> None:
    """Refuse a window that is empty, begins after `today` or is too long."""
    if start > end:
        raise EmptyWindow(start, end)
    if start > today:
        raise FutureWindow(start, today)
    if (end - start).days + 1 > MAX_WINDOW_DAYS:
        raise WindowTooLong(start, end)
