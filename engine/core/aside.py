"""Work done by a forked child on the machine's other core while the process goes on.

`omnistock plan` is one process with one thread, and at a few points it holds work that
nothing waits on yet: the snapshot's velocity and listed rows while its stock is read,
the input hash while the plan is solved, the allocation rows while the rest of the plan
is written. A forked child shares the parent's memory (a page is copied only when one
of them writes it), does that work and hands back what it found as bytes through a
pipe. Where a fork is not safe (another thread runs: a lock it held would stay locked
in the child forever), not there (not Linux) or the child fails, the parent does the
work itself: what comes back is the same either way.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


def fork_safe() -> bool:
    """Whether this process may fork a child that runs Python: Linux, one thread."""
    return sys.platform == "linux" and threading.active_count() == 1


class Aside(Generic[T]):
    """`compute()` run by a forked child from now on (when `forked` and safe), its value
    sent back as `encode(value)`; `result()` is `decode` of those bytes, or `compute()`
    run here when there is no child, it failed, or `decode` refuses its bytes (None)."""

    def __init__(
        self,
        compute: Callable[[], T],
        encode: Callable[[T], bytes],
        decode: Callable[[bytearray], T | None],
        forked: bool = True,
    ) -> None:
        self._compute, self._decode = compute, decode
        self._child: tuple[int, int] | None = None  # (pid, read end of the pipe)
        if not forked or not fork_safe():
            return
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: the value, then out at once (no exit handlers, no flush)
            code = 1
            try:
                os.close(read_end)
                with os.fdopen(write_end, "wb") as pipe:
                    pipe.write(encode(compute()))
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        self._child = (pid, read_end)

    def abandon(self) -> None:
        """The value is not wanted: the child is stopped (its pipe closed) and reaped."""
        if self._child is not None:
            pid, read_end = self._child
            self._child = None
            os.close(read_end)  # its writing fails now (BrokenPipeError), so it ends
            os.waitpid(pid, 0)

    def result(self) -> T:
        if self._child is None:
            return self._compute()
        pid, read_end = self._child
        self._child = None
        with os.fdopen(read_end, "rb") as pipe:
            data = bytearray(pipe.read())  # writable: arrays made on it are the caller's
        _, status = os.waitpid(pid, 0)
        value = self._decode(data) if os.waitstatus_to_exitcode(status) == 0 else None
        # The child failed or refused: the parent's own run says why, or gives the value.
        return self._compute() if value is None else value
