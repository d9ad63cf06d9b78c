"""Errors cross process boundaries whole (scenario players, job workers): pickled as
their fields, each comes back with the same message and parts."""

from __future__ import annotations

import pickle

from engine.access.errors import KeyFileUnavailable
from engine.core.errors import Conflict, ConflictError, InputError, Issue, SolverError
from engine.listing.pacing import QuotaZero


def round_trip(error: Exception) -> Exception:
    back: Exception = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error)
    assert str(back) == str(error)
    return back


def test_input_error_keeps_its_issues() -> None:
    error = InputError([Issue("rules[2].quantity", "must be >= 0")], "rules.yaml")
    back = round_trip(error)
    assert isinstance(back, InputError)
    assert back.issues == error.issues and back.source == "rules.yaml"


def test_conflict_error_keeps_its_conflicts() -> None:
    conflicts = [Conflict(rules=["pin", "cap"], skus=["S1"], detail="fixed 5 above cap 3")]
    back = round_trip(ConflictError(conflicts))
    assert isinstance(back, ConflictError) and back.conflicts == conflicts


def test_solver_error_keeps_its_parts() -> None:
    back = round_trip(SolverError("mip", "time_limit", "no proven optimum within 5 s"))
    assert isinstance(back, SolverError)
    parts = (back.backend, back.status, back.detail)
    assert parts == ("mip", "time_limit", "no proven optimum within 5 s")


def test_subclasses_with_their_own_arguments_come_back_whole() -> None:
    quota = round_trip(QuotaZero("tm-b1:item.add", [Issue("per_second", "must be above 0")]))
    assert isinstance(quota, QuotaZero) and quota.key == "tm-b1:item.add"
    missing = round_trip(KeyFileUnavailable("/tmp/keys.json", [Issue("file", "missing")], True))
    assert isinstance(missing, KeyFileUnavailable) and missing.missing
