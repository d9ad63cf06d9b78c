"""A snapshot's velocity and listed rows read on the machine's other core.

At 300,000 SKUs the two sections are 2 million rows: msgspec's decode and the lookup of
each row's SKU and shop ids are ~1.4 s of CPU that nothing needs until the columns are
returned, while the parent reads the stock section. Once the SKU, shop and brand ids are
known, a forked child (same memory, nothing copied) works out the sections' arrays and
hands them back through a pipe as their raw bytes (no pickling). The child runs the very
function the parent would (`compute`), so the arrays are the same either way; where a
fork is not safe (other threads, not Linux) or the child fails or refuses the rows, the
parent runs it itself, raising what it raises there.
"""

from __future__ import annotations

import os
import struct
import sys
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

# (velocity SKU, shop, units per day; listed SKU, shop, quantity) and the colons counted
ShopArrays = tuple[tuple[Any, Any, Any], tuple[Any, Any, Any], int]
_HEADER = struct.Struct("<qqq")  # colons, velocity rows, listed rows
_KINDS = (np.int64, np.int64, np.float64, np.int64, np.int64, np.int64)


def _encode(arrays: ShopArrays) -> bytes:
    velocity, listed, colons = arrays
    parts = [_HEADER.pack(colons, len(velocity[0]), len(listed[0]))]
    for array, kind in zip((*velocity, *listed), _KINDS, strict=True):
        parts.append(np.ascontiguousarray(array, dtype=kind).tobytes())
    return b"".join(parts)


def _decode(data: bytearray) -> ShopArrays | None:
    if len(data) < _HEADER.size:
        return None
    colons, n_velocity, n_listed = _HEADER.unpack_from(data)
    sizes = (n_velocity,) * 3 + (n_listed,) * 3
    if len(data) != _HEADER.size + 8 * sum(sizes):
        return None
    arrays, at = [], _HEADER.size
    for size, kind in zip(sizes, _KINDS, strict=True):
        arrays.append(np.frombuffer(data, dtype=kind, count=size, offset=at))
        at += 8 * size
    return (arrays[0], arrays[1], arrays[2]), (arrays[3], arrays[4], arrays[5]), colons


class ShopRowsAside:
    """`compute()` run by a forked child when `forked`; `result()` is its value."""

    def __init__(self, compute: Callable[[], ShopArrays], forked: bool) -> None:
        self._compute = compute
        self._child: tuple[int, int] | None = None  # (pid, read end of the pipe)
        # A fork copies only the calling thread: with others running, a lock one of them
        # held (the allocator's, say) would stay locked in the child forever.
        if not forked or sys.platform != "linux" or threading.active_count() != 1:
            return
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: the arrays, then out at once (no exit handlers)
            code = 1
            try:
                os.close(read_end)
                with os.fdopen(write_end, "wb") as pipe:
                    pipe.write(_encode(compute()))
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        self._child = (pid, read_end)

    def abandon(self) -> None:
        """The result is not wanted: the child stopped (its pipe closed) and reaped."""
        if self._child is not None:
            pid, read_end = self._child
            self._child = None
            os.close(read_end)  # its writing fails now (BrokenPipeError), so it ends
            os.waitpid(pid, 0)

    def result(self) -> ShopArrays:
        if self._child is None:
            return self._compute()
        pid, read_end = self._child
        self._child = None
        with os.fdopen(read_end, "rb") as pipe:
            data = bytearray(pipe.read())  # writable: the arrays are the caller's own
        _, status = os.waitpid(pid, 0)
        arrays = _decode(data) if os.waitstatus_to_exitcode(status) == 0 else None
        # The child refused the rows or failed: the parent's own run says which.
        return self._compute() if arrays is None else arrays
