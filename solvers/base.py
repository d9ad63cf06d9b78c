"""One interface for every backend, a registry by name, and the choice by structure.

Each backend declares the problem features it supports (linopy's pattern); the planner
takes the fastest available backend that supports every feature the problem has.
"""

from __future__ import annotations

import abc
import enum
from typing import ClassVar

from solvers.errors import SolverError
from solvers.problem import Feature, Problem, Solution


class BackendName(enum.StrEnum):
    CLOSED = "closed"
    FLOW = "flow"
    GLOP = "glop"
    MIP = "mip"
    PULP = "pulp"


class Backend(abc.ABC):
    """A solver backend: exact for every problem whose features it supports."""

    name: ClassVar[BackendName]
    features: ClassVar[frozenset[Feature]]
    # Lower is faster; the planner prefers the fastest backend that fits.
    speed_rank: ClassVar[int]

    @classmethod
    def is_available(cls) -> bool:
        """Cheap, side-effect free check that the backend's library is importable."""
        return True

    @classmethod
    def supports(cls, problem: Problem) -> bool:
        return problem.features <= cls.features

    @abc.abstractmethod
    def solve(self, problem: Problem, time_limit_s: float = 60.0) -> Solution:
        """Return an optimal whole-unit solution or raise SolverError / ConflictError."""


_REGISTRY: dict[BackendName, type[Backend]] = {}


def register(cls: type[Backend]) -> type[Backend]:
    _REGISTRY[cls.name] = cls
    return cls


def _load_all() -> None:
    # Importing the modules registers their backends.
    import solvers.closed  # noqa: F401
    import solvers.flow  # noqa: F401
    import solvers.lp  # noqa: F401
    import solvers.reference  # noqa: F401


def available_backends() -> list[type[Backend]]:
    _load_all()
    return sorted((b for b in _REGISTRY.values() if b.is_available()), key=lambda b: b.speed_rank)


def from_name(name: str) -> Backend:
    _load_all()
    try:
        key = BackendName(name)
    except ValueError:
        known = ", ".join(b.value for b in BackendName)
        raise SolverError(name, "unknown", f"known backends: {known}") from None
    cls = _REGISTRY[key]
    if not cls.is_available():
        raise SolverError(name, "unavailable", "its library is not installed")
    return cls()


def pick(problem: Problem) -> Backend:
    """The fastest available backend that supports all of the problem's features."""
    for cls in available_backends():
        if cls.name is not BackendName.PULP and cls.supports(problem):
            return cls()
    return from_name(BackendName.PULP)
