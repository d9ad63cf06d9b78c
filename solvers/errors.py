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
        self.detail = detail
        super().__init__(f"solver {backend} returned {status}" + (f": {detail}" if detail else ""))

    def __reduce__(self) -> tuple[type[SolverError], tuple[str, str, str]]:
        # Pickled as its parts, not its message: a helper process's error comes back whole.
        return (type(self), (self.backend, self.status, self.detail))
