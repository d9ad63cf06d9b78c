"""The solvers' own error: a backend that could not return an optimal plan.

The solvers are the bottom layer, so this error does not derive from the engine's
`OmnistockError`; the engine names both in `engine.core.errors.KNOWN_ERRORS`, which the
CLI, the API and the job workers catch.
"""

from __future__ import annotations


class SolverError(Exception):
    """A backend failed (status not optimal, time limit, numerical trouble)."""

    def __init__(self, backend: str, status: str, detail: str = "") -> None:
        self.backend = backend
        self.status = status
        super().__init__(f"solver {backend} returned {status}" + (f": {detail}" if detail else ""))
