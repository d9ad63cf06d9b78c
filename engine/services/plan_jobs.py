"""A plan made now or as a job, and the plan job kind (engine/jobs/kinds.py): large
plans run away from the request and are stored like any other."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict
from typing import Literal

from engine.core.errors import ConflictError
from engine.core.modes import Mode
from engine.core.settings import Settings
from engine.jobs.base import JobInfo, JobQueue
from engine.jobs.kinds import JobFailed, JobKind, Report
from engine.services.brand_cut import failure_parts
from engine.services.plans import (
    PlanInputs,
    compute_plan,
    compute_prepared,
    plan_inputs,
    prepared_inputs,
    save_plan,
)
from engine.store.base import JsonObject, Store

RunAs = Literal["auto", "now", "job"]


def plan_now_or_job(
    store: Store, jobs: JobQueue, mode: Mode | None, run: RunAs, settings: Settings
) -> JobInfo | JsonObject:
    """The plan made now (its stored view) or, when asked for or (auto) larger than
    `settings.sync_plan_max_cells`, the job that makes it. `mode` None: the mode in
    force when the plan's inputs are read. A plan made now reads the stored texts once;
    they are parsed once per process (engine/services/plan_inputs_cache.py)."""
    job_args: JsonObject = {"mode": mode, "time_limit_s": settings.job_solver_time_limit_s}
    if run == "job":
        return jobs.submit(store.tenant, PLAN_JOB.name, job_args)
    max_cells = settings.sync_plan_max_cells if run == "auto" else None
    prepared = prepared_inputs(store, mode, max_cells)
    if prepared is None:
        return jobs.submit(store.tenant, PLAN_JOB.name, job_args)
    with _turn(settings.plans_at_once):
        document, meta = compute_prepared(prepared, settings.solver_time_limit_s)
    return save_plan(store, document, meta)


class FairTurns:
    """At most `at_once` holders, the others served in the order they came.

    A semaphore lets a thread that arrives just as a turn is given back take it before
    the waiter that was woken for it, and that waiter then queues again at the back: a
    plan request could be passed over again and again while 8 others wait in a worker,
    which is the p99. Here a turn given back goes straight to the longest waiter."""

    def __init__(self, at_once: int) -> None:
        self._lock = threading.Lock()
        self._free = at_once
        self._waiting: deque[threading.Lock] = deque()

    def __enter__(self) -> None:
        with self._lock:
            if self._free and not self._waiting:
                self._free -= 1
                return
            gate = threading.Lock()
            gate.acquire()
            self._waiting.append(gate)
        gate.acquire()  # opened by the holder that hands its turn over

    @property
    def waiting(self) -> int:
        """Threads waiting for a turn now."""
        with self._lock:
            return len(self._waiting)

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().release()  # the turn passes on, never freed
            else:
                self._free += 1


_TURNS: dict[int, FairTurns] = {}
_TURNS_MADE = threading.Lock()


def _turn(at_once: int) -> FairTurns:
    """The process's turns for planning now (`Settings.plans_at_once` of them): the
    requests of one worker's thread pool plan in turn, in the order they came, not all
    at once under the GIL."""
    with _TURNS_MADE:
        return _TURNS.setdefault(at_once, FairTurns(at_once))


# --- the job ----------------------------------------------------------------------------

# The planner's progress stages (engine/planning/planner.py) in the order they come.
PLAN_STAGES = ("read", "index", "compile", "solve", "post", "plan", "store")


def _prepare(store: Store, args: JsonObject) -> JsonObject:
    inputs = plan_inputs(store, args["mode"])
    return {"inputs": asdict(inputs), "time_limit_s": args["time_limit_s"]}


def _run(args: JsonObject, report: Report) -> JsonObject:
    def stage(name: str) -> None:
        report(name, PLAN_STAGES.index(name), len(PLAN_STAGES))

    stage("read")
    inputs = PlanInputs(**args["inputs"])
    try:
        document, meta = compute_plan(inputs, args["time_limit_s"], stage)
    except ConflictError as error:
        # Each conflict with the brands it names, so a brand viewer reads its own only.
        raise JobFailed.with_parts(str(error), failure_parts(error, inputs.snapshot)) from None
    stage("store")
    return {"document": document, "meta": meta}


def _finish(store: Store, outcome: JsonObject, job_id: str) -> JsonObject:
    view = save_plan(store, outcome["document"], outcome["meta"])
    return {"plan_id": view["plan_id"]}


PLAN_JOB = JobKind("plan", _prepare, _run, _finish)
