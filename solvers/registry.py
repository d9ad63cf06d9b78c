"""Which backends there are, in the order the planner prefers them, and each by name.

Adding a backend is a module with its `Backend` class and one line in `preference()`.
"""

from __future__ import annotations

import functools

from solvers.base import Backend
from solvers.errors import SolverError


@functools.cache
def preference() -> tuple[type[Backend], ...]:
    """Every backend, fastest first: the planner tries those that fit a problem in this
    order, so PuLP (CBC on the plainly written model), the slowest, comes last."""
    # Imported on first use, not with this module: the planner reaches past the closed
    # form only for coupled problems, and only then loads the other solver libraries.
    from solvers.closed import ClosedForm
    from solvers.flow import MinCostFlow
    from solvers.lp import Glop, Mip
    from solvers.made import BundleSearch
    from solvers.reference import Reference

    return (ClosedForm, MinCostFlow, BundleSearch, Glop, Mip, Reference)


def available_backends() -> list[type[Backend]]:
    """The backends whose library is there, fastest first."""
    return list(_available())


@functools.cache
def _available() -> tuple[type[Backend], ...]:
    # Asked once per process (the planner asks for every part it solves): a solver
    # library does not come or go while the process runs.
    return tuple(cls for cls in preference() if cls.is_available())


def from_name(name: str) -> Backend:
    """The backend called `name`; SolverError when there is none or its library is
    not there."""
    found = next((cls for cls in preference() if cls.name == name), None)
    if found is None:
        known = ", ".join(cls.name for cls in preference())
        raise SolverError(name, "unknown", f"known backends: {known}")
    if not found.is_available():
        raise SolverError(name, "unavailable", "its library is not installed")
    return found()
