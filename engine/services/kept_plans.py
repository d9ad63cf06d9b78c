"""Stored plans kept parsed in the process, for the pages and routes that read one plan
many times (the console's plan table, a SKU's story, the two-way check, the shelf).

A plan never changes once stored - its id is the hash of its inputs - so a parsed
document can be shared by every reader of the process: the demo's plan (50,000
allocations, 3 MB of JSON) is parsed once instead of on each SKU's page. Readers must
not change what they get; `stored_plan` gives a private copy to those that do.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field

from engine.services.plan_inputs_cache import BoundedLru
from engine.store.base import JsonObject, Store

META = "service"  # the key of what the service keeps beside a stored plan
ROW_SECTIONS = ("allocations", "unallocated", "skus")
# About what a parsed allocation costs in memory; the bound is on the sum of these.
ROW_BYTES = 600
MAX_BYTES = 512 * 2**20
PER_TENANT = 4


@dataclass(frozen=True)
class KeptPlan:
    """A stored plan, parsed (shared: read only), and its rows grouped by SKU."""

    document: JsonObject  # the plan as stored, without the service's part
    meta: JsonObject  # what the service keeps beside it
    _grouped: list[dict[str, dict[str, list[JsonObject]]]] = field(
        default_factory=list, repr=False, compare=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def of(cls, stored: JsonObject) -> KeptPlan:
        meta = stored.pop(META)
        return cls(stored, meta)

    @property
    def by_sku(self) -> dict[str, dict[str, list[JsonObject]]]:
        """The rows of each section per SKU: grouped when first asked for (a SKU's
        page), not when the plan is read (the plan table does not need them)."""
        with self._lock:
            if not self._grouped:
                by_sku: dict[str, dict[str, list[JsonObject]]] = defaultdict(
                    lambda: {name: [] for name in ROW_SECTIONS}
                )
                for name in ROW_SECTIONS:
                    for row in self.document.get(name, []):
                        by_sku[row["sku"]][name].append(row)
                self._grouped.append(dict(by_sku))
            return self._grouped[0]

    def rows_of(self, sku: str) -> dict[str, list[JsonObject]]:
        """The SKU's rows of each section (empty lists for a SKU the plan lacks)."""
        return self.by_sku.get(sku) or {name: [] for name in ROW_SECTIONS}


KEPT: BoundedLru[KeptPlan] = BoundedLru(MAX_BYTES, PER_TENANT)


def kept_plan(store: Store, plan_id: str) -> KeptPlan:
    """The stored plan, parsed once per process; NotFound if the tenant has none."""

    def read() -> KeptPlan:
        return KeptPlan.of(store.get_plan(plan_id))

    return KEPT.get_or_make(store.tenant, plan_id, plan_weight, read)


def plan_weight(plan: KeptPlan) -> int:
    """What a parsed plan costs in memory, about (its rows)."""
    return ROW_BYTES * sum(len(plan.document.get(name, [])) for name in ROW_SECTIONS)
