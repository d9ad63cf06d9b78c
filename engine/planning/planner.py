"""The planner: snapshot + ruleset + mode -> plan (the data flow of docs/design.md).

compile (rules -> one array problem) -> solve (closed form for the separable SKUs, the
fastest exact backend for the coupled ones) -> post rules -> the plan with its binding
rules, unallocated stock and reasons, warnings and KPIs, assembled from the compiled
problem, its provenance and the solution. The same input gives the same plan byte for
byte, except `timing`. Process set-up (the allocator's settings) is the entry points'
job, never the planner's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.core.allocation_table import AllocationTable
from engine.core.columns import (
    SnapshotColumns,
    canonical_bytes,
    input_digest,
    orjson_floats,
    snapshot_json,
)
from engine.core.index import SnapshotIndex
from engine.core.modes import Mode
from engine.core.plan import Plan
from engine.core.plan_files import allocation_rows
from engine.core.plan_tables import PoolTable
from engine.core.snapshot import Snapshot
from engine.planning.post import SecondPass, finish, second_pass
from engine.planning.reasons import unallocated_table
from engine.planning.solve import Part, Solved, solve, solve_again
from rules.catalog import Ruleset
from rules.compile import Compiled, compile_problem

Progress = Callable[[str], None]


def input_hash(snapshot: Snapshot, ruleset: Ruleset, mode: Mode) -> str:
    """sha256 of the canonical JSON of the snapshot, the ruleset and the mode."""
    velocity = np.array([r.units_per_day for r in snapshot.velocity], dtype=np.float64)
    text = canonical_bytes(snapshot.model_dump(mode="json"), fast=orjson_floats(velocity))
    return input_digest(text, ruleset, mode)


def columns_hash(columns: SnapshotColumns, ruleset: Ruleset, mode: Mode) -> str:
    """`input_hash` of a snapshot read as columns, without a model of it."""
    return input_digest(snapshot_json(columns), ruleset, mode)


@dataclass
class Outcome:
    """Everything a plan is made of, as arrays: what the benchmark measures."""

    compiled: Compiled
    solved: Solved  # first-pass parts, then second-pass parts if any
    first_x: np.ndarray  # the first pass's plan: its objective is the solver's optimum
    second: SecondPass | None
    timing: dict[str, float]
    first: Solved | None = None  # the first pass whole (its shared parts and parts)


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
    if index.history is not None:
        # Sales history gives the velocity of the cells that have no velocity row;
        # imported here, as the estimator's scipy costs 0.25 s of every plan's start-up.
        from engine.demand.cells import with_history

        index = with_history(index)
    compiled = compile_problem(index, ruleset, mode)
    compiled_at = time.perf_counter()
    say("solve")
    solved = first = solve(compiled.problem, solver, time_limit_s)
    first_x = solved.x
    second = second_pass(compiled.problem, solved.x, compiled.post)
    if second is not None:
        say("post")
        again = solve_again(second.problem, solved, second.changed, solver, time_limit_s)
        for part in again.parts:
            part.notes.insert(0, "second pass, after pack sizes and delisting")
        solved = Solved(again.x, again.shared, solved.parts + again.parts, again.label)
    timing = {
        "compile_s": round(compiled_at - started, 4),
        "solve_s": round(time.perf_counter() - compiled_at, 4),
    }
    return Outcome(compiled, solved, first_x, second, timing, first)


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
    be those of these very inputs. Callers that only write or send the plan should
    use `plan_document`: the model built here costs more than the plan itself on big
    snapshots."""
    if mode is None:
        mode = snapshot.mode
    say = progress or (lambda stage: None)
    if index is None:
        say("index")
        index = SnapshotIndex.build(snapshot)
    if digest is None:
        digest = input_hash(snapshot, ruleset, mode)
    document = plan_document(index, ruleset, mode, digest, solver, time_limit_s, progress)
    return Plan.model_validate(document)


def plan_document(
    index: SnapshotIndex,
    ruleset: Ruleset,
    mode: Mode,
    digest: str | Callable[[], str],
    solver: str | None = None,
    time_limit_s: float = 60.0,
    progress: Progress | None = None,
    columnar: bool = False,
) -> dict[str, Any]:
    """The plan as plain data in `Plan`'s field order, ready for `plan_json` (the same
    bytes as the model's writer) or `Plan.model_validate`; built from the arrays, with
    no model per cell. `digest` is `input_hash` of these inputs (or `columns_hash` of
    a snapshot read as columns), or what gives it once solved (`omnistock plan`: the
    hash worked out in another process meanwhile). Binding lists may be shared between
    cells: read-only.
    `columnar`: allocations as an `AllocationTable` (arrays; rows made as they are
    written), not a list of rows."""
    say = progress or (lambda stage: None)
    started = time.perf_counter()
    outcome = run_planner(index, ruleset, mode, solver, time_limit_s, say)
    say("plan")
    digest = digest if isinstance(digest, str) else digest()
    document = _assemble(
        outcome.compiled, outcome.solved, outcome.second, ruleset, digest, columnar
    )
    document["timing"] = {**outcome.timing, "total_s": round(time.perf_counter() - started, 4)}
    return document


def _assemble(
    c: Compiled,
    solved: Solved,
    second: SecondPass | None,
    ruleset: Ruleset,
    digest: str,
    columnar: bool = False,
) -> dict[str, Any]:
    ix, prov, problem = c.index, c.provenance, c.problem
    result = finish(problem, solved.x, c.post, ix.listed)
    x = result.x
    shared = solved.shared
    cell_shared = np.where(problem.in_shared, shared[ix.cell_sku], 0)
    labels = [ruleset.label(k) for k in range(len(ruleset.rules))]

    def name(k: int) -> str | None:
        return labels[k] if k >= 0 else None

    q = x.astype(np.int64)
    binding, binding_lists = _binding(c, q, labels)
    table = AllocationTable(
        sku_ids=ix.sku_ids,
        shop_ids=ix.shop_ids,
        cell_sku=ix.cell_sku,
        cell_shop=ix.cell_shop,
        quantity=q,
        shared=cell_shared.astype(np.int64),
        binding=binding,
        binding_lists=binding_lists,
        target=problem.target.astype(np.int64),
        lb=problem.lb.astype(np.int64),
        ub=problem.ub.astype(np.int64),
    )
    allocations: Any = table if columnar else allocation_rows(table.columns())
    reasons = unallocated_table(c, solved.x, shared, result, second, name)
    pools = _pool_table(c, name)
    allocated = int(x.sum() + shared.sum())
    units_pool = int((prov.sellable + prov.virtual).sum())
    kpis = {
        "units_allocated": allocated,
        "units_pool": units_pool,
        "utilisation": round(allocated / units_pool, 6) if units_pool else 0.0,
        "units_shared": int(shared.sum()),
        "units_unallocated": reasons.units(),
        "skus": ix.n_skus,
        "shops": ix.n_shops,
        "cells": ix.n_cells,
    }
    warnings = [w.model_dump() for w in prov.warnings]
    for part in solved.parts:
        if not part.proven:
            note = "; ".join(part.notes)
            warnings.append(_warning("not_proven_optimal", f"{part.backend}: {note}"))
    if np.any(result.delisted):
        count = int(result.delisted.sum())
        warnings.append(_warning("delisted", f"{count} listing(s) below their minimum delisted"))
    backends = sorted({p.backend for p in solved.parts})
    return {
        "plan_id": "plan-" + digest[:16],
        "input_hash": digest,
        "mode": c.mode,
        "solver": "+".join(backends) if backends else "none",
        "timing": {},
        "allocations": allocations,
        "unallocated": reasons if columnar else reasons.rows(),
        "warnings": warnings,
        "kpis": kpis,
        "skus": pools if columnar else pools.rows(),
        "solver_parts": [_solver_part(p) for p in solved.parts],
    }


def _warning(code: str, message: str) -> dict[str, Any]:
    return {"code": code, "rule": None, "message": message}


def _solver_part(part: Part) -> dict[str, Any]:
    out: dict[str, Any] = {
        "backend": part.backend,
        "skus": part.skus,
        "cells": part.cells,
        "objective": part.objective,
        "notes": list(part.notes),
    }
    # As SolverPart writes it: an exact part states no bound and no gap.
    if part.bound is not None:
        out["bound"] = part.bound
    if part.gap is not None:
        out["gap"] = part.gap
    return out


def _binding(c: Compiled, q: np.ndarray, labels: list[str]) -> tuple[np.ndarray, list[list[str]]]:
    """Per cell, the rules that determined it: the one whose target it follows, and any
    whose bound it sits on. Cells share few combinations of those rules: each cell's
    code into the list of distinct combinations, each combination's list made once."""
    prov, problem = c.provenance, c.problem
    checks = (
        (prov.target_rule, (q > 0) | (problem.target > 0)),
        (prov.lb_rule, (problem.lb > 0) & (q == problem.lb)),
        (prov.floor_rule, (problem.floor > 0) & (q <= problem.floor)),
        (prov.ub_rule, q == problem.ub),
    )
    rules = np.stack([np.where(holds, rule, -1) for rule, holds in checks], axis=1)
    _, first, which = np.unique(
        _row_keys(rules + 1, len(labels) + 1), return_index=True, return_inverse=True
    )
    lists = []
    for combo in rules[first].tolist():
        found: list[str] = []
        for k in combo:
            if k >= 0 and labels[k] not in found:
                found.append(labels[k])
        lists.append(found)
    return which.reshape(-1), lists


def _row_keys(rows: np.ndarray, base: int) -> np.ndarray:
    """One int64 per row of numbers in [0, base), equal where the rows are equal: the
    row's numbers as the digits of a number in `base`. np.unique of whole rows sorts
    them as bytes, ten times slower; it serves only where the digits would not fit in
    63 bits (rulesets of some 55,000 rules, for four digits)."""
    if base ** rows.shape[1] >= 2**63:
        return np.unique(rows, axis=0, return_inverse=True)[1].reshape(-1)
    key = np.zeros(rows.shape[0], dtype=np.int64)
    for digit in rows.T:
        key = key * base + digit
    return key


def _pool_table(c: Compiled, name: Callable[[int], str | None]) -> PoolTable:
    ix, prov = c.index, c.provenance
    reserved = [(name(k) or "", units.astype(np.int64)) for k, units in prov.reserved.items()]
    codes, share_rule = np.unique(prov.share_rule, return_inverse=True)
    return PoolTable(
        sku_ids=ix.sku_ids,
        sellable=prov.sellable.astype(np.int64),
        reserved=reserved,
        virtual=prov.virtual.astype(np.int64),
        pool=prov.pool.astype(np.int64),
        share_rule=share_rule.reshape(-1),
        share_labels=[name(int(k)) for k in codes.tolist()],
    )
