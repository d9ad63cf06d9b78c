"""Process-wide allocator settings for a planner process, applied at its start.

A plan at a million cells makes a few dozen short-lived arrays of 8 MB each. With
glibc's defaults, blocks that large are returned to the system when freed (by munmap
or by trimming the heap top), so the next array of that size is faulted in again,
page by page: at 1M cells that is tens of milliseconds of page faults per plan, a
tenth of its time. Raising the mmap threshold (blocks up to 32 MB come from the heap)
and the trim threshold (up to 256 MB of freed heap is kept) lets later arrays reuse
pages the process already has. The cost is that the process keeps up to 256 MB of
freed heap: the high-water mark of a plan, which the next plan reuses.

On Linux the heap is also put on transparent huge pages where the kernel leaves that to
the program (THP mode `madvise`). First touching a 4 KiB page costs a page fault (about
2.5 us on a virtual machine) and a plan at 1M cells touches some 100 MB, a quarter of its
time; worse, in a process forked from one that used the heap (the benchmark's children, a
worker pool), reused free heap is copied on write 4 KiB at a time. So, once: free heap
pages are returned to the system (malloc_trim), the heap is grown in large steps (M_TOP_PAD:
the break moves 512 MB past what is asked, address space only) and grown once right away,
and the whole of it is marked MADV_HUGEPAGE, so arrays there fault in 2 MiB at a time. The
cost: memory is committed in 2 MiB pieces (a little more resident memory), 512 MB of
address space is reserved (and up to that much freed heap at its top is kept), and the
kernel may spend time compacting memory to find huge pages (its defrag setting).
`Settings.huge_pages` False (OMNISTOCK_HUGE_PAGES=0) leaves the heap on small pages.

Applied once per process, when a process that plans starts (engine/runtime/process.py);
only on glibc (elsewhere a no-op). `Settings.malloc_tuning` False
(OMNISTOCK_MALLOC_TUNING=0) keeps the allocator's defaults (and small pages).
"""

from __future__ import annotations

import ctypes
import platform

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's upper limit on 64-bit systems
TRIM_THRESHOLD = 256 << 20
TOP_PAD = 512 << 20
HUGE_PAGE = 2 << 20
MADV_HUGEPAGE = 14  # Linux (asm-generic/mman-common.h)

_applied: bool | None = None


def tune_malloc(enabled: bool = True, huge_pages: bool = True) -> bool:
    """Apply the settings once per process; True when they are in force."""
    global _applied
    if _applied is None:
        _applied = _apply(huge_pages) if enabled else False
    return _applied


def _apply(huge_pages: bool) -> bool:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        # The process's own symbols, libc's among them: find_library("c") would run
        # ldconfig in a subprocess, milliseconds at every first plan.
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # Both set explicitly: setting either turns glibc's dynamic thresholds off.
    ok = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    ok = mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1 and ok
    if ok and huge_pages:
        _huge_heap(libc)
    return ok


def _huge_heap(libc: ctypes.CDLL) -> bool:
    """Grow the heap by TOP_PAD now and mark all of it MADV_HUGEPAGE; True when done."""
    if libc.mallopt(M_TOP_PAD, TOP_PAD) != 1:
        return False
    libc.malloc.argtypes, libc.malloc.restype = [ctypes.c_size_t], ctypes.c_void_p
    libc.free.argtypes, libc.free.restype = [ctypes.c_void_p], None
    libc.sbrk.argtypes, libc.sbrk.restype = [ctypes.c_ssize_t], ctypes.c_void_p
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    libc.madvise.restype = ctypes.c_int
    # Free heap pages go back to the system first: in a process forked from one that
    # used them they would be copied on first write, 4 KiB at a time, never huge.
    libc.malloc_trim(0)
    # A block this large (still below the mmap threshold) is, as a rule, larger than any
    # free one, so it moves the break; freed, it stays at the top, ready for arrays.
    libc.free(libc.malloc(MMAP_THRESHOLD - HUGE_PAGE))
    start = _heap_start()
    end = libc.sbrk(0)
    if not start or not end:  # start 0: the kernel did not say
        return False
    start = -(-start // HUGE_PAGE) * HUGE_PAGE
    end = end // HUGE_PAGE * HUGE_PAGE
    return end > start and libc.madvise(start, end - start, MADV_HUGEPAGE) == 0


def _heap_start() -> int | None:
    """Where the heap begins: start_brk, field 47 of /proc/self/stat (one short line;
    /proc/self/maps would take a millisecond to read)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return int(fields[47 - 3])  # the fields after the command name start at 3
    except (OSError, IndexError, ValueError):
        return None
