"""A plan's input hash worked out on the machine's other core while the command goes on.

At 300,000 SKUs the input hash is 0.5-0.6 s of CPU (the snapshot's rows written as
canonical JSON, then sha256) that nothing else waits on until the planner is called,
while the index (another 0.5 s) is built. A forked child computes the hash from the same
memory and hands the 64 hex digits back (engine/core/aside.py); where it cannot, the
process computes it itself: the value is the same either way.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.core.aside import Aside

_HEX_DIGITS = 64  # sha256


def _decode(data: bytearray) -> str | None:
    return data.decode() if len(data) == _HEX_DIGITS else None


def digest_aside(compute: Callable[[], str], forked: bool = True) -> Aside[str]:
    """`compute()` (an input hash) run by a forked child from now on (if `forked`)."""
    return Aside(compute, str.encode, _decode, forked)
