"""What a process that plans sets up once when it starts: the CLI's planning commands,
every API worker of `omnistock serve`, `omnistock worker`, the local job pool's
processes and the benchmark's planner children. Planning functions never do this."""

from __future__ import annotations

from engine.core.settings import Settings
from engine.runtime.allocator import tune_malloc


def prepare_process(settings: Settings) -> None:
    """Allocator settings for large per-plan arrays (engine/runtime/allocator.py)."""
    tune_malloc(settings.malloc_tuning, settings.huge_pages)
