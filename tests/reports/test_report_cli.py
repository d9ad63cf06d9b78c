"""`omnistock report` as a user runs it: the demo's Double-11 report built with no
server (its files opened), bad windows and brands refused naming the field (exit 2, no
traceback), the report mailed to a real SMTP server on loopback once however often it
is sent, recipients and schedules stored and listed, the delivery log read back."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pypdf
import pytest
from typer.testing import CliRunner

from engine.cli.app import app
from tests.reports.smtp import Server, smtp_server

DEMO = ["--demo", "--demo-skus", "120", "--brand", "b1", "--from", "2026-11-10"]
WINDOW = [*DEMO, "--to", "2026-11-12"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "OMNISTOCK_KEYS_FILE": str(tmp_path / "keys.json"),
        "OMNISTOCK_DATABASE_URL": f"sqlite:///{tmp_path / 'omnistock.db'}",
        "OMNISTOCK_REDIS_URL": "",
        "COLUMNS": "250",  # rich tables whole, not cut to 80 columns
    }


@pytest.fixture
def mail() -> Iterator[Server]:
    with smtp_server() as server:
        yield server


def _run(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["report", *args], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_the_demo_report_is_built_with_no_server(tmp_path: Path, env: dict[str, str]) -> None:
    code, output = _run(["build", *WINDOW, "--lang", "en", "--out", str(tmp_path / "out")], env)
    assert code == 0, output
    stem = tmp_path / "out" / "b1-campaign-2026-11-10-2026-11-12-en"
    book = openpyxl.load_workbook(stem.with_suffix(".xlsx"))
    assert "Units sold" in output and len(book.sheetnames) >= 5
    assert len(pypdf.PdfReader(stem.with_suffix(".pdf")).pages) >= 1
    assert "Stridewell" in stem.with_suffix(".html").read_text()


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--demo", "--brand", "zz", "--from", "2026-11-10", "--to", "2026-11-12"], "brand"),
        ([*DEMO, "--to", "2026-11-09"], "from"),
        (["--demo", "--brand", "b1", "--from", "2099-01-01", "--to", "2099-01-02"], "from"),
        (["--demo", "--brand", "b1", "--from", "2026-11-31", "--to", "2026-12-01"], "from"),
        ([*WINDOW, "--kind", "weekly"], "kind"),
    ],
)
def test_bad_input_names_its_field(
    tmp_path: Path, env: dict[str, str], args: list[str], field: str
) -> None:
    code, output = _run(["build", *args, "--out", str(tmp_path / "out")], env)
    assert code == 2, output
    assert f"- {field}:" in output and "Traceback" not in output
    assert not (tmp_path / "out").exists()  # nothing half written


def test_a_report_is_mailed_once_however_often_it_is_sent(
    env: dict[str, str], mail: Server
) -> None:
    env = {
        **env,
        "OMNISTOCK_SMTP_HOST": "127.0.0.1",
        "OMNISTOCK_SMTP_PORT": str(mail.port),
        "OMNISTOCK_SMTP_STARTTLS": "false",
    }
    code, output = _run(["send", *WINDOW, "--mail", "ops@b1.example"], env)
    assert code == 0, output
    assert "sent" in output and len(mail.inbox.mails) == 1
    (message,) = mail.inbox.mails
    pdf = next(p for p in message.iter_attachments() if p.get_filename().endswith(".pdf"))
    assert len(pypdf.PdfReader(io.BytesIO(pdf.get_content())).pages) >= 1
    code, output = _run(["send", *WINDOW, "--mail", "ops@b1.example"], env)
    assert code == 0 and "already_sent" in output, output
    assert len(mail.inbox.mails) == 1
    code, output = _run(["deliveries", "--tenant", "demo"], env)
    assert code == 0 and "ops@b1.example" in output and "sent" in output, output


def test_an_unreachable_smtp_server_is_a_failed_delivery_with_its_reason(
    env: dict[str, str],
) -> None:
    env = {
        **env,
        "OMNISTOCK_SMTP_HOST": "127.0.0.1",
        "OMNISTOCK_SMTP_PORT": "1",  # nothing listens: refused at once
        "OMNISTOCK_SMTP_STARTTLS": "false",
        "OMNISTOCK_DELIVERY_ATTEMPTS": "2",
        "OMNISTOCK_DELIVERY_BACKOFF_S": "0.01",
    }
    code, output = _run(["send", *WINDOW, "--mail", "ops@b1.example"], env)
    assert code == 1, output
    assert "failed" in output and "refused" in output.lower()
    code, output = _run(["deliveries", "--tenant", "demo"], env)
    assert output.count("failed") + output.count("retry") >= 2, output


def test_recipients_and_schedules(env: dict[str, str]) -> None:
    code, output = _run(["recipients", "add", "--brand", "b1", "not-an-address"], env)
    assert code == 2 and "not-an-address" in output, output
    code, output = _run(["recipients", "add", "--brand", "b1", "ops@b1.example"], env)
    assert code == 0, output
    code, output = _run(["recipients", "list"], env)
    assert "ops@b1.example" in output
    code, output = _run(
        ["schedule", "add", "--brand", "b1", "--rule", "monthly", "--day", "3"], env
    )
    assert code == 0, output
    code, output = _run(["schedule", "add", "--brand", "b1", "--rule", "monthly"], env)
    assert code == 2 and "day" in output, output
    code, output = _run(["schedule", "list"], env)
    assert "monthly" in output
