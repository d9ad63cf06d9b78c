"""Typed errors of the engine: each carries what went wrong and where.

The CLI maps them to exit codes (InputError -> 2, ConflictError -> 3) and the API to
HTTP statuses; neither ever shows a stack trace for bad input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
