"""Process-wide allocator settings for a planner process.

A plan at a million cells makes a few dozen short-lived arrays of 8 MB each. With
glibc's defaults, blocks that large are returned to the system when freed (by munmap
or by trimming the heap top), so the next array of that size is faulted in again,
page by page: at 1M cells that is tens of milliseconds of page faults per plan, a
tenth of its time. Raising the mmap threshold (blocks up to 32 MB come from the heap)
and the trim threshold (up to 256 MB of freed heap is kept) lets later arrays reuse
pages the process already has. The cost is that the process keeps up to 256 MB of
freed heap: the high-water mark of a plan, which the next plan reuses.

Applied once per process, at its first plan; only on glibc (elsewhere a no-op). Set
OMNISTOCK_MALLOC_TUNING=0 to keep the allocator's defaults.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's upper limit on 64-bit systems
TRIM_THRESHOLD = 256 << 20

_applied: bool | None = None


def tune_malloc() -> bool:
    """Apply the settings once per process; True when they are in force."""
    global _applied
    if _applied is None:
        _applied = _apply()
    return _applied


def _apply() -> bool:
    if os.environ.get("OMNISTOCK_MALLOC_TUNING", "1") == "0":
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # Both set explicitly: setting either turns glibc's dynamic thresholds off.
    ok = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    ok = mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1 and ok
    return ok
