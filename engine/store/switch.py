"""A tenant's mode switch as the store keeps it: normal, or peak (Double-11) optionally
limited to a window; and the subscription through which a store broadcasts a switch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from engine.core.errors import InputError, Issue
from engine.core.modes import MODES, NORMAL, PEAK, Mode


@dataclass(frozen=True)
class ModeSwitch:
    """The mode a tenant has switched to; a peak may be limited to [start, end)."""

    mode: Mode = NORMAL
    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        issues = []
        if self.mode not in MODES:
            issues.append(Issue("mode", f"must be 'normal' or 'peak', not {self.mode!r}"))
        for name in ("start", "end"):
            moment = getattr(self, name)
            if moment is not None and moment.tzinfo is None:
                issues.append(Issue(name, "must carry a time zone"))
        if not issues and self.start and self.end and self.start >= self.end:
            issues.append(Issue("end", f"must be after start ({self.start.isoformat()})"))
        if issues:
            raise InputError(issues, "mode")

    def effective(self, at: datetime) -> Mode:
        """The mode in force at `at`: a scheduled peak is peak only inside its window."""
        started = self.start is None or at >= self.start
        ended = self.end is not None and at >= self.end
        return PEAK if self.mode == PEAK and started and not ended else NORMAL

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModeSwitch:
        def moment(name: str) -> datetime | None:
            text = data.get(name)
            return datetime.fromisoformat(text) if text else None

        return cls(mode=data.get("mode", NORMAL), start=moment("start"), end=moment("end"))


class Subscription(Protocol):
    """A subscription to mode switches; `close()` ends it. `alive()` is False once it
    can hear nothing more (its connection and its retries gave out)."""

    def alive(self) -> bool: ...

    def close(self) -> None: ...


ModeCallback = Callable[[ModeSwitch], None]
