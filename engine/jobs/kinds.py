"""What a kind of job is, whichever queue runs it. Each area defines its own kinds (a
plan beside the plan services, a what-if scenario beside the scenarios) and a queue is
given the kinds it runs when it is made.

A kind is three steps: `prepare` reads what the job needs from the tenant's store,
`run` does the work (pure: no store, so a child process can run it on plain data),
`finish` stores the outcome (it may use the job's id as the record's) and returns the
job's result. The local queue prepares and finishes in the server process and runs in a
pool process; an RQ worker does all three. A kind travels with its job to the process
that runs it by reference (its steps are module-level functions, sent by module and
name), so a worker process needs no table of kinds of its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from engine.core.errors import KNOWN_ERRORS
from engine.store.base import JsonObject, Store

Report = Callable[[str, int, int], None]  # stage, steps done, steps in all


@dataclass(frozen=True)
class JobKind:
    name: str
    prepare: Callable[[Store, JsonObject], JsonObject]
    run: Callable[[JsonObject, Report], JsonObject]
    finish: Callable[[Store, JsonObject, str], JsonObject]  # store, outcome, job id


def by_name(kinds: Iterable[JobKind]) -> dict[str, JobKind]:
    return {kind.name: kind for kind in kinds}


class JobFailed(Exception):
    """A job's own failure, carrying the message its `error` shows and, where a kind
    knows them, its causes one by one with the brands each concerns (`parts`), so that a
    brand-scoped reader sees only its own (engine/services/brand_cut.py). Its arguments
    are plain strings, so it crosses process boundaries; the engine's errors do not
    pickle."""

    def __init__(self, message: str, parts: str = "") -> None:
        super().__init__(message, parts)

    def __str__(self) -> str:
        return str(self.args[0])

    @classmethod
    def with_parts(cls, message: str, parts: list[FailurePart]) -> JobFailed:
        return cls(message, json.dumps(parts))

    @property
    def parts(self) -> list[FailurePart] | None:
        """The causes, or None: one cause of the whole tenant (the message)."""
        text = str(self.args[1]) if len(self.args) > 1 else ""
        found: list[FailurePart] | None = json.loads(text) if text else None
        return found


# One cause of a failure: its text and the brands whose SKUs or shops it names (none:
# it concerns the tenant as a whole).
FailurePart = dict[str, Any]


def run_kind(kind: JobKind, args: JsonObject, report: Report) -> JsonObject:
    """Run a kind's work; any failure comes out as JobFailed with a readable message."""
    try:
        return kind.run(args, report)
    except JobFailed:
        raise
    except Exception as error:
        raise JobFailed(error_text(error)) from None


def error_text(error: BaseException) -> str:
    """The message a job's `error` carries: ours are written for users; others get
    their type so a bug report has something to go on."""
    if isinstance(error, (*KNOWN_ERRORS, JobFailed)):
        return str(error)
    return f"{type(error).__name__}: {error}"
