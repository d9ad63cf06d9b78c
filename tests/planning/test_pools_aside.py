"""The SKU pools written by a forked child while the plan is solved (`plan_document(
fork_pools=True)`, as `omnistock plan` asks): the same plan bytes, and no child left
behind when there is no plan."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest

import engine.planning.planner as planner
from engine.core.aside import Aside
from engine.core.index import SnapshotIndex
from engine.core.io import parse_snapshot_columns
from engine.core.plan_files import JsonText, plan_json
from engine.demo import build_demo
from rules.load import parse_ruleset


@pytest.fixture
def demo() -> tuple[Any, Any, Any]:
    snapshot, rules = build_demo(seed=5, skus=150)
    columns = parse_snapshot_columns(snapshot)
    return SnapshotIndex.of_columns(columns), parse_ruleset(rules), columns.mode


@pytest.fixture(autouse=True)
def _fork_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    # In a whole test run other tests leave idle threads behind: say there is one.
    monkeypatch.setattr(threading, "active_count", lambda: 1)


def test_pools_written_by_a_child_are_the_plans_pools(
    demo: tuple[Any, Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    index, ruleset, mode = demo
    children: list[Aside[JsonText]] = []
    made = planner.pools_aside

    def noted(c: Any, r: Any) -> Aside[JsonText]:
        children.append(made(c, r))
        return children[-1]

    monkeypatch.setattr(planner, "pools_aside", noted)
    forked = planner.plan_document(index, ruleset, mode, "0" * 64, columnar=True, fork_pools=True)
    assert children and isinstance(forked["skus"], JsonText)
    here = planner.plan_document(index, ruleset, mode, "0" * 64, columnar=True)
    assert isinstance(here["skus"], list)
    forked["timing"] = here["timing"]
    assert plan_json(forked) == plan_json(here)


def test_a_plan_that_fails_leaves_no_child(
    demo: tuple[Any, Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    index, ruleset, mode = demo
    pids: list[int] = []
    made = planner.pools_aside

    def noted(c: Any, r: Any) -> Aside[JsonText]:
        child = made(c, r)
        assert child._child is not None
        pids.append(child._child[0])
        return child

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the solver fails")

    monkeypatch.setattr(planner, "pools_aside", noted)
    monkeypatch.setattr(planner, "solve", failing)
    with pytest.raises(RuntimeError, match="the solver fails"):
        planner.plan_document(index, ruleset, mode, "0" * 64, columnar=True, fork_pools=True)
    assert len(pids) == 1
    with pytest.raises(ChildProcessError):  # stopped and reaped: no such child any more
        os.waitpid(pids[0], os.WNOHANG)
