"""A key file that cannot be used - truncated, empty, of another shape, a directory, not
UTF-8, unreadable, missing - is a 503 on every keyed route and on /readyz, with the
file's path in the server log and never in a body; the CLI names the file and the
problem (exit 2). A key file made by `omnistock keys create` works as before."""

from __future__ import annotations

import json
import logging
import re
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.app import create_app
from api.urls import API_PREFIX
from engine.access.errors import KeyFileUnavailable
from engine.access.repository import JsonFileKeyRepository
from engine.cli.app import app as cli
from engine.services.stores import StoreRegistry

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's httpx2 notice, as in tests/api
    from fastapi.testclient import TestClient


def _truncated(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")


def _empty(path: Path) -> None:
    path.write_text("", encoding="utf-8")


def _other_shape(path: Path) -> None:
    path.write_text(json.dumps({"keys": [{"key_id": "nope"}], "extra": 1}), encoding="utf-8")


def _directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _not_utf8(path: Path) -> None:
    path.write_bytes(b'{"keys": ["\xff\xfe"]}')


def _unreadable(path: Path) -> None:
    # Root reads past any mode bits, so "unreadable" is a path the OS will not open:
    # the key file's folder is a plain file.
    folder = path.parent
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()
    folder.write_text("not a folder", encoding="utf-8")


def _missing(path: Path) -> None:
    path.unlink()


BREAKS: dict[str, Callable[[Path], None]] = {
    "truncated": _truncated,
    "empty": _empty,
    "other shape": _other_shape,
    "a directory": _directory,
    "not UTF-8": _not_utf8,
    "unreadable": _unreadable,
    "missing": _missing,
}


@pytest.mark.parametrize("broken", list(BREAKS))
def test_a_broken_key_file_is_503_everywhere_and_named_only_in_the_log(
    broken: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "secret-folder" / "keys.json"
    keys = JsonFileKeyRepository(path)
    key = keys.create("acme", "operator")[0]
    app = create_app(keys=keys, stores=StoreRegistry())
    client = TestClient(app, headers={"Authorization": f"Bearer {key}"})
    assert client.get("/v1/whoami").status_code == 200
    assert client.get("/readyz").json()["keys"] is True

    BREAKS[broken](path)
    paths = app.openapi()["paths"]
    with caplog.at_level(logging.ERROR, logger="omnistock.api"):
        for template, operations in paths.items():
            if not template.startswith(API_PREFIX + "/"):
                continue
            for method in operations:
                response = client.request(method, re.sub(r"\{[^}]+\}", "x", template), json={})
                assert response.status_code == 503, (broken, method, template, response.text)
                assert int(response.headers["retry-after"]) > 0
                assert str(tmp_path) not in response.text and "secret-folder" not in response.text
                assert response.json()["detail"]["keys"] == "unavailable"
        ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["keys"] is False
    assert str(tmp_path) not in ready.text
    assert any(str(path) in record.getMessage() for record in caplog.records), "path logged"
    message = response.json()["detail"]["message"]
    if broken == "missing":
        assert "no key file: create a key with omnistock keys create" in message
    else:
        assert "server log" in message
    # No key: still a 401 (nothing to check it against is not the caller's concern).
    assert TestClient(app).get("/v1/whoami").status_code == 401


def test_the_cli_names_the_file_and_the_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "keys.json"
    monkeypatch.setenv("OMNISTOCK_KEYS_FILE", str(path))
    runner = CliRunner()
    assert runner.invoke(cli, ["keys", "list"]).exit_code == 0  # no file: no keys yet
    made = runner.invoke(cli, ["keys", "create", "--tenant", "acme", "--role", "operator"])
    assert made.exit_code == 0, made.output  # the first key makes the file
    _not_utf8(path)
    listed = runner.invoke(cli, ["keys", "list"])
    assert (
        listed.exit_code == 2 and "not UTF-8" in listed.output and "Traceback" not in listed.output
    )
    with pytest.raises(KeyFileUnavailable) as broken:
        JsonFileKeyRepository(path).ready()
    assert broken.value.path == str(path) and not broken.value.missing
