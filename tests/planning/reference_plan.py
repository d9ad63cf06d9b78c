"""The plan assembly as it was before plans were built from arrays: one model per cell
and per SKU, written by `dump_json`. The reference the array assembly must match byte
for byte (tests/planning/test_plan_document.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np

from engine.core.io import canonical_json
from engine.core.modes import Mode
from engine.core.plan import (
    Allocation,
    Kpis,
    Plan,
    PlanWarning,
    SkuPool,
    SolverPart,
    Unallocated,
)
from engine.core.snapshot import Snapshot
from engine.planning.post import SecondPass, finish
from engine.planning.reasons import unallocated_table
from engine.planning.solve import Solved
from rules.catalog import Ruleset
from rules.compile import Compiled


def reference_input_hash(snapshot: Snapshot, ruleset: Ruleset, mode: Mode) -> str:
    doc = {
        "snapshot": snapshot.model_dump(mode="json"),
        "ruleset": ruleset.model_dump(mode="json", exclude_unset=True),
        "mode": mode,
    }
    return hashlib.sha256(canonical_json(doc).encode()).hexdigest()


def reference_plan(
    c: Compiled,
    solved: Solved,
    second: SecondPass | None,
    ruleset: Ruleset,
    digest: str,
) -> Plan:
    ix, prov, problem = c.index, c.provenance, c.problem
    result = finish(problem, solved.x, c.post, ix.listed)
    x = result.x
    shared = solved.shared
    cell_shared = np.where(problem.in_shared, shared[ix.cell_sku], 0)
    labels = [ruleset.label(k) for k in range(len(ruleset.rules))]

    def name(k: int) -> str | None:
        return labels[k] if k >= 0 else None

    allocations = []
    for cell in range(ix.n_cells):
        q = int(x[cell])
        binding = _binding(c, cell, q, name)
        allocations.append(
            Allocation(
                sku=ix.sku_ids[ix.cell_sku[cell]],
                shop=ix.shop_ids[ix.cell_shop[cell]],
                quantity=q,
                shared=int(cell_shared[cell]),
                binding=binding,
                listed=bool(q + cell_shared[cell] > 0),
                target=int(problem.target[cell]),
                lb=int(problem.lb[cell]),
                ub=int(problem.ub[cell]),
            )
        )
    reasons = unallocated_table(c, solved.x, shared, result, second, name)
    unallocated = [Unallocated(**row) for row in reasons.rows()]
    pools = _pools(c, name)
    allocated = int(x.sum() + shared.sum())
    units_pool = int((prov.sellable + prov.virtual).sum())
    kpis = Kpis(
        units_allocated=allocated,
        units_pool=units_pool,
        utilisation=round(allocated / units_pool, 6) if units_pool else 0.0,
        units_shared=int(shared.sum()),
        units_unallocated=sum(u.quantity for u in unallocated),
        skus=ix.n_skus,
        shops=ix.n_shops,
        cells=ix.n_cells,
    )
    warnings = list(prov.warnings)
    for part in solved.parts:
        if not part.proven:
            note = "; ".join(part.notes)
            warnings.append(
                PlanWarning(code="not_proven_optimal", message=f"{part.backend}: {note}")
            )
    if np.any(result.delisted):
        warnings.append(
            PlanWarning(
                code="delisted",
                rule=None,
                message=f"{int(result.delisted.sum())} listing(s) below their minimum delisted",
            )
        )
    backends = sorted({p.backend for p in solved.parts})
    return Plan(
        plan_id="plan-" + digest[:16],
        input_hash=digest,
        mode=c.mode,
        solver="+".join(backends) if backends else "none",
        timing={},
        allocations=allocations,
        unallocated=unallocated,
        warnings=warnings,
        kpis=kpis,
        skus=pools,
        solver_parts=[
            SolverPart(
                backend=p.backend,
                skus=p.skus,
                cells=p.cells,
                objective=p.objective,
                notes=p.notes,
                bound=p.bound,
                gap=p.gap,
            )
            for p in solved.parts
        ],
    )


def _binding(c: Compiled, cell: int, q: int, name: Callable[[int], str | None]) -> list[str]:
    """Rules that determined the cell: the one whose target it follows, and any whose
    bound it sits on."""
    prov, problem = c.provenance, c.problem
    found: list[str] = []
    checks = [
        (int(prov.target_rule[cell]), q > 0 or problem.target[cell] > 0),
        (int(prov.lb_rule[cell]), problem.lb[cell] > 0 and q == problem.lb[cell]),
        (int(prov.floor_rule[cell]), problem.floor[cell] > 0 and q <= problem.floor[cell]),
        (int(prov.ub_rule[cell]), q == problem.ub[cell]),
    ]
    for k, holds in checks:
        label = name(k)
        if holds and label is not None and label not in found:
            found.append(label)
    return found


def _pools(c: Compiled, name: Callable[[int], str | None]) -> list[SkuPool]:
    ix, prov = c.index, c.provenance
    reserved = prov.reserved
    out = []
    for i in range(ix.n_skus):
        out.append(
            SkuPool(
                sku=ix.sku_ids[i],
                sellable=int(prov.sellable[i]),
                reserved={name(k) or "": int(v[i]) for k, v in reserved.items() if v[i] > 0},
                virtual=int(prov.virtual[i]),
                pool=int(prov.pool[i]),
                share_rule=name(int(prov.share_rule[i])),
            )
        )
    return out
