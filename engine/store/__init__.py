"""The allocation service's state, one tenant at a time: `Store` and its in-memory and
Redis implementations (see base.py for what is stored and what is guaranteed)."""

from engine.store.base import PublishResult, Store, Versioned
from engine.store.errors import (
    IdempotencyConflict,
    InsufficientStock,
    NotFound,
    StaleVersion,
    StoreError,
)
from engine.store.memory import MemoryStore

__all__ = [
    "IdempotencyConflict",
    "InsufficientStock",
    "MemoryStore",
    "ModeSwitch",
    "NotFound",
    "PublishResult",
    "StaleVersion",
    "Store",
    "StoreError",
    "Versioned",
]
