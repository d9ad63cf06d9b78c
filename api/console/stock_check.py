"""The two-way stock check of a plan (engine/checks/two_way.py, as the API's POST
/v1/check): the stored snapshot's listings against the plan and the stock.

On the demo (5,000 SKUs x 10 shops) the check reads and parses the snapshot and the
plan and finds some 12,000 warnings in about two seconds; the process keeps the last few
checks, per plan and stock version (a new snapshot is checked again), for the warnings
page and the plan table's warning filter.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from engine.checks.findings import StockWarning
from engine.checks.two_way import check_stock
from engine.core.io import parse_plan
from engine.services.plans import stored_plan
from engine.services.snapshots import stored_snapshot
from engine.store.base import Store

SEVERITIES = ("high", "medium", "low")
KEEP = 4


@dataclass(frozen=True)
class Checked:
    stock_version: int
    warnings: list[StockWarning]


_CHECKED: OrderedDict[tuple[str, str, int], Checked] = OrderedDict()
_LOCK = threading.Lock()


def checked(store: Store, plan_id: str) -> Checked:
    """The two-way check of the stored snapshot against the plan (kept per process)."""
    version = store.stock_version()
    key = (store.tenant, plan_id, version)
    with _LOCK:
        found = _CHECKED.get(key)
        if found is not None:
            _CHECKED.move_to_end(key)
            return found
    document, _ = stored_plan(store, plan_id)
    version, snapshot = stored_snapshot(store)
    result = Checked(version, check_stock(snapshot, parse_plan(document, "stored plan")))
    with _LOCK:
        _CHECKED[(store.tenant, plan_id, version)] = result
        while len(_CHECKED) > KEEP:
            _CHECKED.popitem(last=False)
    return result
