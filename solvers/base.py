"""The one interface every backend implements (linopy's pattern).

Each backend declares the problem features it supports and how to tell that its
library is there; which backends exist, and in which order the planner prefers them,
is the registry's (solvers/registry.py).
"""

from __future__ import annotations

import abc
from typing import ClassVar

from solvers.problem import Feature, Problem, Solution


class Backend(abc.ABC):
    """A solver backend: exact for every problem whose features it supports."""

    name: ClassVar[str]
    features: ClassVar[frozenset[Feature]]

    @classmethod
    def is_available(cls) -> bool:
        """Whether the backend's library is there to solve with: cheap and side-effect
        free. False unless a backend says how it is available, so a backend that forgot
        to say is never chosen."""
        return False

    @classmethod
    def supports(cls, problem: Problem) -> bool:
        return problem.features <= cls.features

    @abc.abstractmethod
    def solve(self, problem: Problem, time_limit_s: float = 60.0) -> Solution:
        """Return an optimal whole-unit solution, or raise SolverError (status
        "infeasible" when no plan meets the hard rows)."""
