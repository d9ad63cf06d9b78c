"""`omnistock plan` ends its process without freeing what it built (`end_process`): the
plan file is whole, stdout is flushed, exit handlers have run, and the exit code is 0;
called in-process (CliRunner), the command returns as before."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from engine.cli.app import app
from engine.core.io import read_document
from engine.demo import write_demo

# An exit handler registered before the command runs: it must still run. The probe's
# __main__ is named as the installed script is, so the command ends the process.
PROBE = (
    "__file__ = '/usr/bin/omnistock'; "
    "import atexit, sys; from engine.cli.app import main; "
    "atexit.register(lambda: sys.stderr.write('exit handler ran\\n')); "
    "sys.argv = ['omnistock', *sys.argv[1:]]; main()"
)


def _demo(tmp_path: Path) -> tuple[Path, Path]:
    write_demo(tmp_path, 3, 200)
    return tmp_path / "snapshot.json", tmp_path / "rules.yaml"


def test_the_command_ends_with_its_output_whole(tmp_path: Path) -> None:
    snapshot, rules = _demo(tmp_path)
    plan = tmp_path / "plan.json"
    command = [sys.executable, "-m", "engine.cli", "plan", str(snapshot), str(rules)]
    done = subprocess.run([*command, "-o", str(plan), "--json"], capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)  # stdout flushed whole before the process ended
    assert printed["allocations"] == read_document(plan)["allocations"]
    assert not list(tmp_path.glob(".plan.json.*"))  # no temporary file left


def test_exit_handlers_run_before_the_end(tmp_path: Path) -> None:
    snapshot, rules = _demo(tmp_path)
    run = [sys.executable, "-c", PROBE, "plan", str(snapshot), str(rules)]
    done = subprocess.run(run, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "exit handler ran" in done.stderr
    assert "SKUs x" in done.stdout  # the summary, flushed


def test_in_process_the_command_returns(tmp_path: Path) -> None:
    snapshot, rules = _demo(tmp_path)
    result = CliRunner().invoke(app, ["plan", str(snapshot), str(rules)])
    assert result.exit_code == 0, result.output
    assert "SKUs x" in result.output
