"""One process's view of a tenant's mode, kept current by the store's broadcast.

An API worker reads the mode once, subscribes to its changes (Redis pub/sub across
workers, a callback in memory) and answers from what it heard: a Double-11 switch made
through any worker reaches every worker at once, with no round trip per request. A
broadcast can be lost (a dropped pub/sub connection), so a view older than `max_age_s`
is read again: the mode is never stale for longer than that. A subscription whose
listening thread died (Redis went away for longer than its reconnect attempts) is
restarted at the next read, and the mode read again, since broadcasts made while it
was down were not heard.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

from engine.store.switch import ModeCallback, ModeSwitch, Subscription

log = logging.getLogger(__name__)


class ModeSource(Protocol):
    """What a watch needs of a store: the mode now, and its broadcast."""

    def get_mode(self) -> ModeSwitch: ...

    def subscribe(self, callback: ModeCallback) -> Subscription: ...


class ModeWatch:
    def __init__(self, source: ModeSource, max_age_s: float) -> None:
        self._source = source
        self._max_age_s = max_age_s
        self._lock = threading.Lock()
        self._mode: ModeSwitch | None = None
        self._seen_at = 0.0
        self._subscription: Subscription | None = None
        self.heard = 0  # broadcasts received (tests and debugging)
        self.restarts = 0  # subscriptions restarted after their thread died

    def current(self) -> ModeSwitch:
        with self._lock:
            if self._subscription is not None and not self._subscription.alive():
                log.warning("mode subscription lost; subscribing again")
                self._subscription.close()
                self._subscription = None
                self._mode = None  # what was broadcast meanwhile went unheard
                self.restarts += 1
            if self._mode is None or time.monotonic() - self._seen_at > self._max_age_s:
                if self._subscription is None:
                    # Subscribe before reading: a switch made in between is then heard.
                    self._subscription = self._source.subscribe(self._heard)
                self._mode = self._source.get_mode()
                self._seen_at = time.monotonic()
            return self._mode

    def _heard(self, mode: ModeSwitch) -> None:
        with self._lock:
            self._mode = mode
            self._seen_at = time.monotonic()
            self.heard += 1

    def close(self) -> None:
        with self._lock:
            if self._subscription is not None:
                self._subscription.close()
                self._subscription = None
