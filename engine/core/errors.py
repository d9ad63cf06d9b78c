"""Typed errors of the engine: each carries what went wrong and where.

The CLI maps them to exit codes (InputError -> 2, ConflictError -> 3) and the API to
HTTP statuses; neither ever shows a stack trace for bad input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from solvers.errors import SolverError

__all__ = [
    "KNOWN_ERRORS",
    "Conflict",
    "ConflictError",
    "InputError",
    "Issue",
    "OmnistockError",
    "SolverError",
]


@dataclass(frozen=True)
class Issue:
    """One problem in the input: a dotted path to the culprit and a message."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class OmnistockError(Exception):
    """Base of every error the engine raises on purpose."""

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled as its fields, not rebuilt from its message (an exception's default,
        # which garbles errors whose __init__ takes parts): an error raised in a helper
        # process - a scenario player, a job worker - comes back whole.
        return (restore_error, (type(self), self.args, self.__dict__))


def restore_error(cls: type[Exception], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    """An error as pickled by `OmnistockError.__reduce__`, without calling __init__."""
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class InputError(OmnistockError):
    """Invalid input: every issue found, not just the first."""

    def __init__(self, issues: list[Issue], source: str = "") -> None:
        self.issues = issues
        self.source = source
        head = f"{source}: " if source else ""
        lines = "\n".join(f"  - {issue}" for issue in issues)
        super().__init__(f"{head}{len(issues)} invalid item(s)\n{lines}")


@dataclass
class Conflict:
    """Hard rules that cannot all hold for one SKU (or one shop, for couplings)."""

    rules: list[str]
    skus: list[str] = field(default_factory=list)
    shops: list[str] = field(default_factory=list)
    detail: str = ""

    def __str__(self) -> str:
        where = []
        if self.skus:
            where.append("SKU " + ", ".join(self.skus))
        if self.shops:
            where.append("shop " + ", ".join(self.shops))
        rules = ", ".join(self.rules) if self.rules else "(no rule id)"
        return f"rules {rules} cannot all hold for {' / '.join(where)}: {self.detail}"


class ConflictError(OmnistockError):
    """Hard rules that cannot all hold: there is no plan."""

    def __init__(self, conflicts: list[Conflict]) -> None:
        self.conflicts = conflicts
        shown = "\n".join(f"  - {c}" for c in conflicts[:20])
        more = f"\n  ... and {len(conflicts) - 20} more" if len(conflicts) > 20 else ""
        super().__init__(f"{len(conflicts)} conflict(s) between hard rules\n{shown}{more}")


# Every error the engine and its solvers raise on purpose: what the CLI, the API and the
# job workers turn into an exit code, a status or a failed job, never a traceback.
KNOWN_ERRORS: tuple[type[OmnistockError], type[SolverError]] = (OmnistockError, SolverError)
