"""The two-way stock check of a plan (engine/checks/two_way.py, as the API's POST
/v1/check): the stored snapshot's listings against the plan and the stock.

The check reads the snapshot's index from the process's plan-inputs cache (the plans
pages have read it already) and the plan's rows as stored, classifies every cell with
arrays and words a warning only when a page shows it. The plan is the one kept parsed
by the process (engine/services/kept_plans.py). The process keeps the last few
checks, per plan and stock version (a new snapshot is checked again), for the warnings
page and the plan table's warning filter.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from engine.checks.stock import PlanView
from engine.checks.two_way import Findings, find
from engine.services.kept_plans import kept_plan
from engine.services.plans import prepared_inputs
from engine.store.base import Store

SEVERITIES = ("high", "medium", "low")
KEEP = 4


@dataclass(frozen=True)
class Checked:
    stock_version: int
    findings: Findings


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
    document = kept_plan(store, plan_id).document
    inputs = prepared_inputs(store, None)
    assert inputs is not None  # no limit on cells was asked for
    index = inputs.snapshot.index
    allocations = (
        (a["sku"], a["shop"], a["quantity"], a.get("shared", 0)) for a in document["allocations"]
    )
    virtual = ((p["sku"], p.get("virtual", 0)) for p in document.get("skus", []))
    plan = PlanView.of_rows(allocations, virtual, index)
    result = Checked(inputs.stock_version, find(index, plan))
    with _LOCK:
        _CHECKED[(store.tenant, plan_id, inputs.stock_version)] = result
        while len(_CHECKED) > KEEP:
            _CHECKED.popitem(last=False)
    return result
