"""Even placement of kept-alive connections over the workers of `omnistock serve`.

Each worker listens on its own SO_REUSEPORT socket (engine/cli/serve.py) and the kernel
places a new connection on one of them by a hash of its addresses: 16 kept-alive
clients can land 11 on one worker and 5 on the other, and the busier worker then sets
the pace and the p99 for the whole run. Here the workers share their open-connection
counts (a small array in shared memory, made by the parent before it starts them); a
worker holding more than its fair share answers its next response with
`Connection: close`, so that client reconnects and the kernel places it again. Each
such move is a coin flip over the workers, so an uneven start evens out within a few
requests, and workers at their share keep every connection alive (closing every
connection after each answer made p99 worse: requests then queue unevenly moment to
moment).

Fair share: ceil(the connections that stay - open ones less those told to close - plus
those closed here and not yet made again, over the workers). A connection told to close
counts as gone at once (its answer may take a while to leave, and the worker must not
close another for it meanwhile) and as on its way back until a new connection comes,
so a worker closes no more than it must while its clients reconnect; a client that does
not come back within IN_FLIGHT_S is no longer counted (else a loose count would let the
split stay uneven by as many connections).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import time
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol
from uvicorn.protocols.utils import get_remote_addr

CLOSE_HEADER = (b"connection", b"close")
_FREE = 0  # a slot's pid before a worker takes it
# A client closed for a new placement reconnects within milliseconds when it has more
# to ask; one not back after this long is not counted as coming back.
IN_FLIGHT_S = 1.0
# The cells: connections in flight, when the last one was closed here (ms), then per
# slot its worker's pid, open connections, and those of them told to close.
_IN_FLIGHT, _LAST_MOVE_MS, _HEAD, _PER_SLOT = 0, 1, 2, 3

Peer = tuple[str, int]  # a connection's client address, as uvicorn's scope["client"]


def _pid(slot: int) -> int:
    return _HEAD + _PER_SLOT * slot


def _open(slot: int) -> int:
    return _pid(slot) + 1


def _leaving(slot: int) -> int:
    return _pid(slot) + 2


def fair_share(staying: list[int], in_flight: int) -> int:
    """The most connections one worker should hold: every connection that stays open
    or is on its way back, spread as evenly as whole connections allow."""
    return math.ceil((sum(staying) + in_flight) / max(1, len(staying)))


class ConnectionShares:
    """Open connections per worker, in memory shared by one server's workers.

    Made in the parent before any worker starts, and handed to each worker as it is
    spawned (multiprocessing shares the array with a spawned child only then); every
    read and change holds the array's lock. A worker takes a free slot (or one whose
    process is gone) with `join`; a worker without a slot neither counts nor closes."""

    def __init__(self, slots: int) -> None:
        self._cells = multiprocessing.get_context("spawn").Array("q", _HEAD + _PER_SLOT * slots)
        self._slot: int | None = None  # this process's slot, once joined
        self._told: set[Peer] = set()  # this worker's connections told to close

    def __getstate__(self) -> dict[str, Any]:
        return {"_cells": self._cells, "_slot": None, "_told": set()}  # a child joins

    @property
    def slots(self) -> int:
        return (len(self._cells) - _HEAD) // _PER_SLOT

    def join(self) -> bool:
        """Take a slot for this process; False when every slot is held by a live one."""
        with self._cells.get_lock():
            for slot in range(self.slots):
                pid = self._cells[_pid(slot)]
                if pid == _FREE or pid == os.getpid() or not _alive(pid):
                    self._cells[_pid(slot)] = os.getpid()
                    self._cells[_open(slot)] = self._cells[_leaving(slot)] = 0
                    self._slot = slot
                    return True
        return False

    def leave(self) -> None:
        """Give this process's slot back (a worker shutting down)."""
        if self._slot is None:
            return
        with self._cells.get_lock():
            self._cells[_pid(self._slot)] = _FREE
            self._cells[_open(self._slot)] = self._cells[_leaving(self._slot)] = 0
        self._slot = None

    def opened(self) -> None:
        """A connection accepted by this worker: it may be one closed here coming back."""
        if self._slot is None:
            return
        with self._cells.get_lock():
            self._cells[_open(self._slot)] += 1
            if self._cells[_IN_FLIGHT] > 0:
                self._cells[_IN_FLIGHT] -= 1

    def closed(self, peer: Peer | None) -> None:
        """A connection of this worker gone (by either side), from client `peer`."""
        if self._slot is None:
            return
        with self._cells.get_lock():
            self._cells[_open(self._slot)] -= 1
            if peer in self._told:
                self._told.discard(peer)
                self._cells[_leaving(self._slot)] -= 1

    def move_one(self, peer: Peer | None) -> bool:
        """True when this worker holds more than its fair share: the caller closes the
        connection of client `peer` after its answer, now counted as leaving here and
        on its way to a new placement."""
        if self._slot is None or peer is None or peer in self._told:
            return False
        now_ms = int(time.monotonic() * 1000)  # one clock for every process (Linux)
        with self._cells.get_lock():
            if now_ms - self._cells[_LAST_MOVE_MS] > IN_FLIGHT_S * 1000:
                self._cells[_IN_FLIGHT] = 0
            staying = self._staying()
            if staying[self._slot] <= fair_share(list(staying.values()), self._cells[_IN_FLIGHT]):
                return False
            self._told.add(peer)
            self._cells[_leaving(self._slot)] += 1
            self._cells[_IN_FLIGHT] += 1
            self._cells[_LAST_MOVE_MS] = now_ms
            return True

    def _staying(self) -> dict[int, int]:
        """Each held slot's open connections less those told to close (lock held)."""
        return {
            slot: self._cells[_open(slot)] - self._cells[_leaving(slot)]
            for slot in range(self.slots)
            if self._cells[_pid(slot)] != _FREE
        }


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class CountedHTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    """uvicorn's HTTP protocol (h11 or httptools, as uvicorn picks), counting this
    worker's open connections in the server's ConnectionShares. Given to uvicorn as
    `http=partial(CountedHTTPProtocol, shares=...)`."""

    def __init__(self, *args: Any, shares: ConnectionShares, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shares = shares

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._peer = get_remote_addr(transport)  # as the requests' scope["client"]
        self._shares.opened()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self._shares.closed(self._peer)


class CloseWhenOverShare:
    """ASGI middleware: an answer of a worker above its fair share of connections says
    `Connection: close` (decided as the answer starts, so after any wait for a turn to
    plan), and the server closes that connection once the answer is sent."""

    def __init__(self, app: Any, shares: ConnectionShares) -> None:
        self.app = app
        self.shares = shares

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_maybe_closing(message: Any) -> None:
            client = scope.get("client")
            peer = (client[0], client[1]) if client else None
            if message["type"] == "http.response.start" and self.shares.move_one(peer):
                headers = [*message.get("headers", []), CLOSE_HEADER]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_maybe_closing)
