"""The console entry: commands imported when run, one BLAS thread unless the caller
set the variable."""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = (
    "import sys, os; from engine.cli import app; from engine.core import settings; "
    "settings.one_blas_thread(); "
    "print(os.environ['OPENBLAS_NUM_THREADS']); "
    "print(','.join(m for m in ('polars', 'scipy.optimize', 'uvicorn', 'sqlalchemy', 'fastapi') "
    "if m in sys.modules))"
)


def run_probe(env: dict[str, str]) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.splitlines()


def test_entry_sets_one_blas_thread_and_loads_no_command() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS",)}
    threads, loaded = run_probe(env)
    assert threads == "1"
    assert loaded == ""  # no command group imported at start-up


def test_a_callers_thread_count_is_kept() -> None:
    threads, _ = run_probe({**os.environ, "OPENBLAS_NUM_THREADS": "4"})
    assert threads == "4"
