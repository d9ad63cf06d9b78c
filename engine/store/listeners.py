"""Mode-change subscribers held in this process: how the stores without a broadcast
channel of their own (memory, SQLite) tell a mode switch to the watchers of their
process. Redis uses pub/sub instead, which also reaches other processes."""

from __future__ import annotations

import contextlib
import threading

from engine.store.switch import ModeCallback, ModeSwitch


class _Subscription:
    def __init__(self, listeners: ModeListeners, callback: ModeCallback) -> None:
        self._listeners = listeners
        self._callback = callback

    def alive(self) -> bool:
        return True  # in this process: nothing to lose

    def close(self) -> None:
        self._listeners.remove(self._callback)


class ModeListeners:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callbacks: list[ModeCallback] = []

    def add(self, callback: ModeCallback) -> _Subscription:
        with self._lock:
            self._callbacks.append(callback)
        return _Subscription(self, callback)

    def remove(self, callback: ModeCallback) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._callbacks.remove(callback)

    def tell(self, mode: ModeSwitch) -> None:
        """Call every subscriber with `mode` (outside the lock: a callback may subscribe)."""
        with self._lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            callback(mode)
