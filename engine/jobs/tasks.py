"""The work behind each job kind, the same whichever queue runs it.

A kind is three steps: `prepare` reads what the job needs from the tenant's store,
`run` does the work (pure: no store, so a child process can run it on plain data),
`finish` stores the outcome (it may use the job's id as the
record's) and returns the job's result. The local queue prepares and
finishes in the server process and runs in a pool process; an RQ worker does all three.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import asdict, dataclass

from engine.store.base import JsonObject, Store

Report = Callable[[str, int, int], None]  # stage, steps done, steps in all


@dataclass(frozen=True)
class Task:
    prepare: Callable[[Store, JsonObject], JsonObject]
    run: Callable[[JsonObject, Report], JsonObject]
    finish: Callable[[Store, JsonObject, str], JsonObject]  # store, outcome, job id


# --- plan -------------------------------------------------------------------------------

# The planner's progress stages (engine/planning/planner.py) in the order they come.
PLAN_STAGES = ("read", "index", "compile", "solve", "post", "plan", "store")


def _plan_prepare(store: Store, args: JsonObject) -> JsonObject:
    from engine.services.planning import plan_inputs

    inputs = plan_inputs(store, args.get("mode"))
    return {"inputs": asdict(inputs), "time_limit_s": args["time_limit_s"]}


def _plan_run(args: JsonObject, report: Report) -> JsonObject:
    from engine.services.planning import PlanInputs, compute_plan

    def stage(name: str) -> None:
        report(name, PLAN_STAGES.index(name), len(PLAN_STAGES))

    stage("read")
    document, meta = compute_plan(PlanInputs(**args["inputs"]), args["time_limit_s"], stage)
    stage("store")
    return {"document": document, "meta": meta}


def _plan_finish(store: Store, outcome: JsonObject, job_id: str) -> JsonObject:
    from engine.services.planning import save_plan

    view = save_plan(store, outcome["document"], outcome["meta"])
    return {"plan_id": view["plan_id"], "url": f"/v1/plans/{view['plan_id']}"}


TASKS: dict[str, Task] = {"plan": Task(_plan_prepare, _plan_run, _plan_finish)}
# Kinds defined elsewhere, by the module that registers them on import (loaded on first
# use: a worker process may not have imported it).
_REGISTERED_BY = {"scenario": "engine.scenarios.tasks"}


def register(kind: str, task: Task) -> None:
    TASKS[kind] = task


def task_for(kind: str) -> Task:
    if kind not in TASKS and kind in _REGISTERED_BY:
        importlib.import_module(_REGISTERED_BY[kind])
    return TASKS[kind]


class JobFailed(Exception):
    """A job's own failure, carrying the message its `error` shows. Plain (one string
    argument) so it crosses process boundaries; the engine's errors do not pickle."""


def run_task(kind: str, args: JsonObject, report: Report) -> JsonObject:
    """Run a kind's work; any failure comes out as JobFailed with a readable message."""
    try:
        return task_for(kind).run(args, report)
    except Exception as error:
        raise JobFailed(error_text(error)) from None


def error_text(error: BaseException) -> str:
    """The message a job's `error` carries: ours are written for users; others get
    their type so a bug report has something to go on."""
    from engine.core.errors import KNOWN_ERRORS

    if isinstance(error, KNOWN_ERRORS):
        return str(error)
    return f"{type(error).__name__}: {error}"
