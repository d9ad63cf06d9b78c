"""Typed errors of delivery set-up: a recipient that is not one is refused when it is
stored and again before anything is sent, naming the field and the value at fault. A
failure to send is not raised: it is an outcome, written to the delivery log."""

from __future__ import annotations

from engine.core.errors import InputError, Issue

__all__ = ["BadRecipient"]

_SOURCE = "recipient"


class BadRecipient(InputError):
    """A mail address that is not one, a webhook URL that is not a robot's, an unknown
    channel or report kind."""

    def __init__(self, field: str, value: str, why: str) -> None:
        self.field = field
        self.value = value
        self.why = why
        super().__init__([Issue(field, f"{value!r} {why}")], _SOURCE)
