"""A plan's input hash worked out on the machine's other core while the command goes on.

At 300,000 SKUs the input hash is 0.5-0.6 s of CPU (the snapshot's rows written as
canonical JSON, then sha256) that nothing else waits on until the planner is called,
while the index (another 0.5 s) is built. `omnistock plan` is one process with one
thread at that point, so a forked child can compute the hash from the same memory (no
copy: pages are shared until written) and hand the 64 hex digits back through a pipe.
Where a fork is not safe or not there (other threads running, not Linux) or the child
fails, the hash is computed in the process itself: the value is the same either way.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable

_HEX_DIGITS = 64  # sha256


class DigestAside:
    """`compute()` run by a forked child from now on; `result()` is its value."""

    def __init__(self, compute: Callable[[], str]) -> None:
        self._compute = compute
        self._child: tuple[int, int] | None = None  # (pid, read end of the pipe)
        # A fork copies only the calling thread: with others running, a lock one of them
        # held (the allocator's, say) would stay locked in the child forever.
        if sys.platform != "linux" or threading.active_count() != 1:
            return
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: the hash, then out at once (no exit handlers, no flush)
            code = 1
            try:
                os.close(read_end)
                digest = compute().encode()
                code = 0 if os.write(write_end, digest) == len(digest) else 1
            finally:
                os._exit(code)
        os.close(write_end)
        self._child = (pid, read_end)

    def result(self) -> str:
        if self._child is None:
            return self._compute()
        pid, read_end = self._child
        self._child = None
        with os.fdopen(read_end, "rb") as pipe:
            digest = pipe.read()
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0 or len(digest) != _HEX_DIGITS:
            return self._compute()
        return digest.decode()
