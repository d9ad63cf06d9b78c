"""The tenant's planning mode: normal, or peak (Double-11) optionally scheduled. The
store broadcasts a switch, so every API worker and job sharing the store sees it at once."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.core.errors import InputError, Issue
from engine.core.modes import Mode
from engine.store.base import JsonObject, Store
from engine.store.switch import ModeSwitch


def mode_in_force(store: Store) -> Mode:
    """The tenant's mode now (a scheduled peak is peak only inside its window)."""
    return store.mode_now().effective(datetime.now(UTC))


def get_mode(store: Store) -> JsonObject:
    """The switch and the mode in force now (`effective`)."""
    return _view(store.mode_now())


def put_mode(store: Store, body: JsonObject) -> JsonObject:
    """Switch the tenant to normal or peak, optionally between `start` and `end`; an
    InputError names the request's field (`body.start`) that is not a moment with a
    time zone, or an `end` not after `start`."""
    issues = []
    for name in ("start", "end"):
        text = body.get(name)
        if not text:
            continue
        try:
            datetime.fromisoformat(text)
        except ValueError:
            message = f"not an ISO 8601 moment: {text!r} (e.g. 2026-11-11T00:00:00+08:00)"
            issues.append(Issue(name, message))
    if issues:
        raise InputError(issues, "body")
    try:
        switch = ModeSwitch.from_json(body)
    except InputError as error:  # no time zone, or an end not after the start
        raise InputError(error.issues, "body") from None
    return _view(store.put_mode(switch))


def _view(switch: ModeSwitch) -> JsonObject:
    return {**switch.to_json(), "effective": switch.effective(datetime.now(UTC))}
