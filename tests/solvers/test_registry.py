"""The registry: every backend once, fastest first, found by name; a backend that does
not say how it is available is not."""

from __future__ import annotations

from typing import ClassVar

import pytest

from solvers.base import Backend
from solvers.errors import SolverError
from solvers.problem import Feature, Problem, Solution
from solvers.registry import available_backends, from_name, preference


def test_backends_in_order_of_preference_each_once() -> None:
    names = [cls.name for cls in preference()]
    assert names == ["closed", "flow", "bundles", "glop", "mip", "pulp"]
    assert available_backends() == [cls for cls in preference() if cls.is_available()]


def test_a_backend_is_unavailable_unless_it_says_how_it_is_available() -> None:
    class Silent(Backend):
        name: ClassVar[str] = "silent"
        features: ClassVar[frozenset[Feature]] = frozenset()

        def solve(self, problem: Problem, time_limit_s: float = 60.0) -> Solution:
            raise NotImplementedError

    assert not Silent.is_available()


def test_from_name_finds_each_backend_and_names_the_known_ones() -> None:
    assert [type(from_name(cls.name)) for cls in available_backends()] == available_backends()
    with pytest.raises(SolverError) as err:
        from_name("gurobi")
    assert err.value.status == "unknown"
    assert "closed, flow, bundles, glop, mip, pulp" in str(err.value)
