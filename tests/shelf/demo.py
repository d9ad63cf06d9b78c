"""The demo data and one plan made from it, built once per test run and shared by the
CLI and API tests."""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path

from engine.core.io import dump_json, load_snapshot
from engine.planning.planner import make_plan
from rules.load import load_ruleset

DEMO = Path(__file__).resolve().parents[2] / "scenarios" / "demo"
SNAPSHOT = DEMO / "snapshot.json"


@lru_cache(maxsize=1)
def demo_plan() -> Path:
    """A plan file for the demo snapshot and rules (temporary, removed at exit)."""
    folder = Path(tempfile.mkdtemp(prefix="omnistock-demo-"))
    plan = make_plan(load_snapshot(SNAPSHOT), load_ruleset(DEMO / "rules.yaml"))
    path = folder / "plan.json"
    dump_json(plan, path)
    return path
