"""A snapshot the quick column checks do not vouch for is read by the model; its input
hash (and so the plan id) is the model's, and `omnistock plan` plans it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli.app import app
from engine.core import io
from engine.core.io import parse_snapshot, parse_snapshot_columns
from engine.demo import build_demo
from engine.planning.planner import columns_hash, input_hash
from rules.load import parse_ruleset


def test_fallback_columns_hash_as_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot, rules = build_demo(seed=4, skus=200)
    ruleset = parse_ruleset(rules)
    quick = parse_snapshot_columns(snapshot)
    monkeypatch.setattr(io, "columns_of_document", lambda data: None)
    slow = parse_snapshot_columns(snapshot)
    assert slow.dumped is None and slow.model is not None
    expected = input_hash(parse_snapshot(snapshot), ruleset, "normal")
    assert columns_hash(slow, ruleset, "normal") == expected
    assert columns_hash(quick, ruleset, "normal") == expected


def test_plan_command_plans_a_snapshot_read_by_the_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    snapshot, rules = build_demo(seed=4, skus=200)
    (tmp_path / "s.json").write_text(json.dumps(snapshot))
    (tmp_path / "r.json").write_text(json.dumps(rules))
    args = ["plan", str(tmp_path / "s.json"), str(tmp_path / "r.json"), "-o"]
    first = CliRunner().invoke(app, [*args, str(tmp_path / "a.json")])
    monkeypatch.setattr(io, "columns_of_document", lambda data: None)
    second = CliRunner().invoke(app, [*args, str(tmp_path / "b.json")])
    assert first.exit_code == 0 and second.exit_code == 0, second.output
    a = json.loads((tmp_path / "a.json").read_text())
    b = json.loads((tmp_path / "b.json").read_text())
    assert a["plan_id"] == b["plan_id"] and a["allocations"] == b["allocations"]
