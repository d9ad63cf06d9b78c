"""The input hash worked out by a forked child (engine/cli/digest_aside.py) is the value
the process itself would compute; without a safe fork, or if the child fails, the
process computes it (and raises what computing it raises)."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli.app import app
from engine.cli.digest_aside import digest_aside
from engine.core.index import SnapshotIndex
from engine.core.io import parse_snapshot
from engine.core.plan_files import plan_json
from engine.demo import build_demo
from engine.planning.planner import input_hash, plan_document
from rules.load import parse_ruleset


def _digest_with_pid() -> tuple[str, list[int]]:
    pids: list[int] = []

    def compute() -> str:
        pids.append(os.getpid())  # seen only where it ran in this process
        return hashlib.sha256(b"snapshot").hexdigest()

    return digest_aside(compute).result(), pids


def test_the_childs_digest_is_handed_back(monkeypatch: pytest.MonkeyPatch) -> None:
    # In a whole test run other tests leave idle threads behind; this test is about the
    # forked path, so the process is said to have one (the child only hashes bytes).
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    digest, pids = _digest_with_pid()
    assert pids == []  # computed by the child, not here
    assert digest == hashlib.sha256(b"snapshot").hexdigest()


def test_with_other_threads_running_it_is_computed_here() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        digest, pids = _digest_with_pid()
    finally:
        stop.set()
        other.join()
    assert pids == [os.getpid()]
    assert len(digest) == 64


def test_a_failing_child_leaves_it_to_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threading, "active_count", lambda: 1)  # a child is forked
    calls: list[int] = []

    def compute() -> str:
        calls.append(os.getpid())
        raise ValueError("no hash")

    aside = digest_aside(compute)
    with pytest.raises(ValueError, match="no hash"):
        aside.result()
    assert calls == [os.getpid()]


def test_a_plan_given_its_hash_late_is_the_plan_given_it_at_once() -> None:
    # `omnistock plan` hands plan_document the child's `result`, waited for once solved.
    snapshot_doc, rules_doc = build_demo(seed=4, skus=100)
    snapshot, ruleset = parse_snapshot(snapshot_doc), parse_ruleset(rules_doc)
    digest = input_hash(snapshot, ruleset, snapshot.mode)
    asked: list[str] = []

    def late() -> str:
        asked.append(digest)
        return digest

    index = SnapshotIndex.build(snapshot)
    at_once = plan_document(index, ruleset, snapshot.mode, digest, columnar=True)
    given_late = plan_document(index, ruleset, snapshot.mode, late, columnar=True)
    assert asked == [digest]
    assert given_late["input_hash"] == digest
    del at_once["timing"], given_late["timing"]
    assert plan_json(at_once) == plan_json(given_late)


@pytest.mark.parametrize("fork_aside", ["true", "false"])
def test_the_plan_command_forks_only_when_its_setting_allows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fork_aside: str
) -> None:
    # OMNISTOCK_FORK_ASIDE=false: the hash (and any section) worked out in the process.
    snapshot_doc, rules_doc = build_demo(seed=4, skus=100)
    (tmp_path / "snapshot.json").write_text(json.dumps(snapshot_doc), encoding="utf-8")
    (tmp_path / "rules.json").write_text(json.dumps(rules_doc), encoding="utf-8")
    monkeypatch.setenv("OMNISTOCK_FORK_ASIDE", fork_aside)
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    forks: list[int] = []
    real_fork = os.fork
    monkeypatch.setattr(os, "fork", lambda: forks.append(1) or real_fork())
    out = tmp_path / "plan.json"
    args = ["plan", str(tmp_path / "snapshot.json"), str(tmp_path / "rules.json"), "-o", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert bool(forks) == (fork_aside == "true")
    assert json.loads(out.read_bytes())["input_hash"] == input_hash(
        parse_snapshot(snapshot_doc), parse_ruleset(rules_doc), "normal"
    )
