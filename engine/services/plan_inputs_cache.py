"""The stored plan inputs, parsed once per worker process: the snapshot (validated and
indexed) once per stored text, the ruleset once per stored text, and their input hash
once per (snapshot, ruleset, mode).

Why: a plan request of 1,000 SKUs x 10 shops spent more time reading its inputs again
(JSON, pydantic validation, index, the canonical-JSON input hash) than planning them,
though the stock changes far less often than plans are asked for.

Never stale by construction: an entry is keyed by the tenant and the SHA-256 of the
text the store holds, which each request reads (one GET of the text, hashed in well
under a millisecond per 500 kB), never by the stock or ruleset version alone - a version
number says nothing of a store that was reset, or of another process's writes. A new
stock version or ruleset is therefore seen by the very next request, in every worker.

What it costs: memory. A snapshot is kept as its index's arrays and its canonical JSON
(for the input hash of each new ruleset or mode), about 4 times its stored text (1.7 MB
for the 446 kB of 1,000 SKUs x 10 shops). Each cache is bounded by the stored text it
holds (`max_text_bytes`) and keeps at most `per_tenant` snapshots per tenant (the
current one and the one before, for requests in flight across a change), evicting the
least recently used first. A snapshot whose text alone exceeds the bound is parsed for
its request and not kept. Entries are shared between the requests of a worker: nothing
that plans from them may change them (the index's arrays are made read-only, so a write
raises instead of corrupting the next plan).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import cached_property
from typing import Generic, TypeVar

import numpy as np

from engine.core.columns import input_digest
from engine.core.index import SnapshotIndex
from engine.core.modes import Mode
from engine.core.snapshot import Snapshot
from engine.planning.planner import input_hash
from rules.catalog import Ruleset

T = TypeVar("T")

# Stored text held per cache (each API worker has one): about 64 MB once parsed, seven
# snapshots of the largest size planned at once (50,000 cells, 2.2 MB of text).
MAX_TEXT_BYTES = 16 * 1024 * 1024
# Snapshots kept per tenant: the current one and the previous one.
PER_TENANT = 2
# Input hashes kept: 64 bytes each, many per snapshot at most (one per ruleset and mode).
MAX_DIGESTS = 4096


def text_key(text: str) -> str:
    """The key of a stored document: the SHA-256 of its stored text."""
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class ParsedSnapshot:
    """A stored snapshot, validated and indexed, with what the service reads off it.
    Its rows are kept only as the index's arrays and, for the input hash, as its
    canonical JSON (`canonical`) - about the size of the stored text - or, for the rare
    document that only the model reads (engine/core/columns.py), as that model."""

    key: str  # text_key of the stored text
    index: SnapshotIndex
    mode: Mode  # the snapshot's own mode
    cells: int  # plan_cells of the stored document
    brands: dict[str, dict[str, str]]  # each SKU's and shop's brand, kept beside each plan
    canonical: bytes | None  # the snapshot's part of the input hash
    model: Snapshot | None = None  # where canonical is None

    def digest(self, ruleset: Ruleset, mode: Mode) -> str:
        """`input_hash` of this snapshot under `ruleset` in `mode`."""
        if self.canonical is not None:
            return input_digest(self.canonical, ruleset, mode)
        assert self.model is not None, "a parsed snapshot keeps its canonical JSON or model"
        return input_hash(self.model, ruleset, mode)


@dataclass(frozen=True)
class ParsedRuleset:
    key: str  # text_key of the stored text
    ruleset: Ruleset


class BoundedLru(Generic[T]):
    """A thread-safe LRU map bounded by the total weight of its values and by the
    number of values per group (a tenant). `get_or_make` makes a missing value once,
    however many threads ask for it at the same moment."""

    def __init__(self, max_weight: int, per_group: int) -> None:
        self.max_weight = max_weight
        self.per_group = per_group
        self._entries: OrderedDict[tuple[str, Hashable], tuple[T, int]] = OrderedDict()
        self._weight = 0
        self._lock = threading.Lock()
        self._making: dict[tuple[str, Hashable], threading.Lock] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    @property
    def weight(self) -> int:
        with self._lock:
            return self._weight

    def held(self) -> list[tuple[str, Hashable]]:
        """The keys, least recently used first."""
        with self._lock:
            return list(self._entries)

    def get(self, group: str, key: Hashable) -> T | None:
        with self._lock:
            found = self._entries.get((group, key))
            if found is None:
                return None
            self._entries.move_to_end((group, key))
            return found[0]

    def get_or_make(
        self,
        group: str,
        key: Hashable,
        weight: int | Callable[[T], int],
        make: Callable[[], T],
    ) -> T:
        """The value under (group, key), made by `make` if missing and kept if it fits.

        `weight` may be a function of the value made, for values whose size is known
        only once they are made (a parsed plan)."""
        found = self.get(group, key)
        if found is not None:
            return found
        with self._lock:
            making = self._making.setdefault((group, key), threading.Lock())
        # One thread makes it; the others asking for the same key wait for it instead of
        # parsing the same text in parallel.
        try:
            with making:
                found = self.get(group, key)
                if found is not None:
                    return found
                value = make()
                self._put(group, key, value, weight(value) if callable(weight) else weight)
                return value
        finally:
            with self._lock:
                self._making.pop((group, key), None)

    def _put(self, group: str, key: Hashable, value: T, weight: int) -> None:
        if weight > self.max_weight:
            return
        with self._lock:
            self._entries[(group, key)] = (value, weight)
            self._weight += weight
            mine = [k for k in self._entries if k[0] == group]
            for old in mine[: max(0, len(mine) - self.per_group)]:
                self._weight -= self._entries.pop(old)[1]
            while self._weight > self.max_weight:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._weight -= dropped


def freeze_index(index: SnapshotIndex) -> SnapshotIndex:
    """The index with every array read-only, its cached properties computed first (it
    is shared by concurrent plans: none may write into it, nor race to fill it)."""
    for name, attribute in vars(SnapshotIndex).items():
        if isinstance(attribute, cached_property):
            getattr(index, name)
    for value in vars(index).values():
        _freeze(value, depth=2)
    return index


def _freeze(value: object, depth: int) -> None:
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
        return
    if isinstance(value, dict):
        items = list(value.values())
    elif isinstance(value, tuple | list):
        items = list(value)
    elif hasattr(value, "__dict__"):
        items = list(vars(value).values())
    else:
        return
    for item in items if depth > 0 else []:
        _freeze(item, depth - 1)


class PlanInputsCache:
    """Parsed snapshots, rulesets and input hashes of one process, per tenant."""

    def __init__(self, max_text_bytes: int = MAX_TEXT_BYTES, per_tenant: int = PER_TENANT) -> None:
        self.snapshots: BoundedLru[ParsedSnapshot] = BoundedLru(max_text_bytes, per_tenant)
        # Rulesets are small (a few kB): the same bounds hold far more of them.
        self.rulesets: BoundedLru[ParsedRuleset] = BoundedLru(max_text_bytes, per_tenant)
        self.digests: BoundedLru[str] = BoundedLru(MAX_DIGESTS, MAX_DIGESTS)

    def ruleset(
        self, tenant: str, text: str, parse: Callable[[str, str], ParsedRuleset]
    ) -> ParsedRuleset:
        """The parsed ruleset of this stored text: `parse(text, key)` on a miss."""
        key = text_key(text)
        return self.rulesets.get_or_make(tenant, key, len(text), lambda: parse(text, key))

    def digest(
        self,
        tenant: str,
        snapshot: ParsedSnapshot,
        ruleset: ParsedRuleset,
        mode: Mode,
    ) -> str:
        """The input hash of these inputs, computed once per (snapshot, ruleset, mode)."""
        key = (snapshot.key, ruleset.key, mode)
        return self.digests.get_or_make(
            tenant, key, 1, lambda: snapshot.digest(ruleset.ruleset, mode)
        )


# The cache of this process (each API worker is a process of its own).
PLAN_INPUTS = PlanInputsCache()
