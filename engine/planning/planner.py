"""The planner: snapshot + ruleset + mode -> plan (the data flow of docs/design.md).

compile (rules -> one array problem) -> solve (closed form for the separable SKUs, the
fastest exact backend for the coupled ones) -> post rules -> the plan with its binding
rules, unallocated stock and reasons, warnings and KPIs, assembled from the compiled
problem, its provenance and the solution. The same input gives the same plan byte for
byte, except `timing`. Process set-up (the allocator's settings) is the entry points'
job, never the planner's.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.core.index import SnapshotIndex
from engine.core.io import canonical_json
from engine.core.modes import Mode
from engine.core.plan import Allocation, Kpis, Plan, PlanWarning, SkuPool, SolverPart
from engine.core.snapshot import Snapshot
from engine.planning.post import SecondPass, finish, second_pass
from engine.planning.reasons import unallocated_rows
from engine.planning.solve import Solved, solve
from rules.catalog import Ruleset
from rules.compile import Compiled, compile_problem

Progress = Callable[[str], None]


def input_hash(snapshot: Snapshot, ruleset: Ruleset, mode: Mode) -> str:
    doc = {
        "snapshot": snapshot.model_dump(mode="json"),
        "ruleset": ruleset.model_dump(mode="json", exclude_unset=True),
        "mode": mode,
    }
    return hashlib.sha256(canonical_json(doc).encode()).hexdigest()


@dataclass
class Outcome:
    """Everything a plan is made of, as arrays: what the benchmark measures."""

    compiled: Compiled
    solved: Solved  # first-pass parts, then second-pass parts if any
    first_x: np.ndarray  # the first pass's plan: its objective is the solver's optimum
    second: SecondPass | None
    timing: dict[str, float]


def run_planner(
    index: SnapshotIndex,
    ruleset: Ruleset,
    mode: Mode,
    solver: str | None = None,
    time_limit_s: float = 60.0,
    progress: Progress | None = None,
) -> Outcome:
    say = progress or (lambda stage: None)
    started = time.perf_counter()
    say("compile")
    compiled = compile_problem(index, ruleset, mode)
    compiled_at = time.perf_counter()
    say("solve")
    solved = solve(compiled.problem, solver, time_limit_s)
    first_x = solved.x
    second = second_pass(compiled.problem, solved.x, compiled.post)
    if second is not None:
        say("post")
        again = solve(second.problem, solver, time_limit_s)
        for part in again.parts:
            part.notes.insert(0, "second pass, after pack sizes and delisting")
        solved = Solved(again.x, again.shared, solved.parts + again.parts)
    timing = {
        "compile_s": round(compiled_at - started, 4),
        "solve_s": round(time.perf_counter() - compiled_at, 4),
    }
    return Outcome(compiled, solved, first_x, second, timing)


def make_plan(
    snapshot: Snapshot,
    ruleset: Ruleset,
    mode: Mode | None = None,
    solver: str | None = None,
    time_limit_s: float = 60.0,
    progress: Progress | None = None,
    index: SnapshotIndex | None = None,
    digest: str | None = None,
) -> Plan:
    """The plan of the snapshot under the ruleset, in `mode` (None: the snapshot's).

    A caller that plans one snapshot many times (the service, per stock version) may
    hand over its `index` and the `digest` (`input_hash`) it computed once; they must
    be those of these very inputs."""
    say = progress or (lambda stage: None)
    if mode is None:
        mode = snapshot.mode
    started = time.perf_counter()
    say("index")
    if index is None:
        index = SnapshotIndex.build(snapshot)
    outcome = run_planner(index, ruleset, mode, solver, time_limit_s, say)
    say("plan")
    if digest is None:
        digest = input_hash(snapshot, ruleset, mode)
    plan = _assemble(
        outcome.compiled, outcome.solved, outcome.second, snapshot, ruleset, mode, digest
    )
    plan.timing = {**outcome.timing, "total_s": round(time.perf_counter() - started, 4)}
    return plan


def _assemble(
    c: Compiled,
    solved: Solved,
    second: SecondPass | None,
    snapshot: Snapshot,
    ruleset: Ruleset,
    mode: Mode,
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
    unallocated = unallocated_rows(c, solved.x, shared, result, second, name)
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
