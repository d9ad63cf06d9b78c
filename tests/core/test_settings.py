"""The one Settings: every OMNISTOCK_* variable is a field, read in one place."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli.app import app
from engine.core.settings import DEFAULT_KEYS_FILE, Settings

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("engine", "rules", "solvers", "api")


def test_defaults_are_the_embedded_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(f"OMNISTOCK_{name.upper()}", raising=False)
    settings = Settings()
    assert settings.redis_url is None  # no server needed
    assert settings.keys_file == DEFAULT_KEYS_FILE
    assert settings.malloc_tuning and settings.huge_pages


def test_each_field_is_its_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OMNISTOCK_REDIS_URL", "redis://cache:6380/2")
    monkeypatch.setenv("OMNISTOCK_KEYS_FILE", str(tmp_path / "k.json"))
    monkeypatch.setenv("OMNISTOCK_JOB_WORKERS", "3")
    monkeypatch.setenv("OMNISTOCK_HUGE_PAGES", "0")
    settings = Settings()
    assert settings.redis_url == "redis://cache:6380/2"
    assert settings.keys_file == tmp_path / "k.json"
    assert settings.job_workers == 3
    assert settings.huge_pages is False


def test_a_bad_variable_is_named_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OMNISTOCK_KEYS_FILE", str(tmp_path / "keys.json"))
    monkeypatch.setenv("OMNISTOCK_JOB_WORKERS", "many")
    result = CliRunner().invoke(app, ["keys", "list"])
    assert result.exit_code == 2
    assert "OMNISTOCK_JOB_WORKERS" in result.output and "Traceback" not in result.output


def _reads_environment(tree: ast.AST) -> list[int]:
    """Lines that read or write os.environ / os.getenv."""
    names = ("environ", "getenv", "putenv")
    lines = []
    for node in ast.walk(tree):
        reads = (
            isinstance(node, ast.Attribute)
            and node.attr in names
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        )
        imports = (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and any(a.name in names for a in node.names)
        )
        if reads or imports:
            lines.append(node.lineno)
    return lines


def test_no_module_reads_the_environment_but_settings() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != ROOT / "engine" / "core" / "settings.py"  # the one that may
        for line in _reads_environment(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert found == []
