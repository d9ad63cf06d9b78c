"""The allocator settings of a planner process (engine/runtime/allocator.py), applied as a
process start applies them (from the environment's Settings), each case in a fresh
interpreter: the settings are process-wide and applied once."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="the settings apply on glibc Linux only",
)

PROBE = """
from engine.core.settings import Settings
from engine.runtime import allocator
from engine.runtime.process import prepare_process
prepare_process(Settings())
applied = allocator.tune_malloc()  # the first call's answer, kept for the process
start = allocator._heap_start()
heap = [line for line in open("/proc/self/maps") if line.rstrip().endswith("[heap]")]
first = int(heap[0].split("-", 1)[0], 16) if heap else None
flags = [line.split()[1:] for line in open("/proc/self/smaps") if line.startswith("VmFlags")]
huge = any("hg" in f for f in flags)
print(applied, start == first, huge)
"""


def probe(**env: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()


def test_heap_on_huge_pages_by_default() -> None:
    applied, start_found, huge = probe(OMNISTOCK_HUGE_PAGES="1", OMNISTOCK_MALLOC_TUNING="1")
    assert applied == "True"
    assert start_found == "True"  # start_brk is where /proc/self/maps puts the heap
    assert huge == "True"


def test_opt_outs() -> None:
    assert probe(OMNISTOCK_HUGE_PAGES="0") == ["True", "True", "False"]  # thresholds only
    applied, _, _ = probe(OMNISTOCK_MALLOC_TUNING="0")
    assert applied == "False"
