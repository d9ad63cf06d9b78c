"""Mailing a report to a real SMTP server on loopback (aiosmtpd) and reading back what
arrived: headers, the HTML body, attachments that open. Temporary failures (421, a
connection refused, a server that never answers) are retried with a doubling wait and
logged; a 5xx is failed at once with its reason; an address that is not one is refused
before any connection; the password is nowhere in the log nor in an error."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pypdf
import pytest
from matplotlib.figure import Figure
from pydantic import SecretStr

from engine.core.settings import Settings
from engine.reports.delivery.log import DeliveryLog
from engine.reports.delivery.mail import KEY_HEADER, MailServer, send_mail
from engine.reports.delivery.message import PDF, XLSX, Attachment, Message, Target
from engine.reports.delivery.retry import Retry
from tests.redis_server import free_port
from tests.reports.logs import sqlite_log
from tests.reports.smtp import PASSWORD, USER, smtp_server

TENANT, BRAND, KEY = "acme", "b1", "acme/b1/campaign/2026-11-10..2026-11-12"
TO = "buyer@brand.example"
FAST = Retry(attempts=4, backoff_s=0.01, max_backoff_s=0.03)


def _workbook() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "销售"
    sheet.append(["店铺", "件数"])
    sheet.append(["天猫旗舰店", 1204])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _pdf() -> bytes:
    figure = Figure()
    figure.add_subplot().plot([1, 2, 3], [3, 1, 2])
    out = io.BytesIO()
    figure.savefig(out, format="pdf")
    return out.getvalue()


MESSAGE = Message(
    subject="双11 报告 b1 2026-11-10..2026-11-12",
    html="<html><body><h1>双11</h1><p>GMV ¥1,204,000</p></body></html>",
    text="双11\nGMV ¥1,204,000",
    attachments=(
        Attachment("b1 双11.xlsx", _workbook(), XLSX),
        Attachment("b1 双11.pdf", _pdf(), PDF),
    ),
)


@pytest.fixture
def log(tmp_path: Path) -> Iterator[DeliveryLog]:
    with sqlite_log(tmp_path) as log:
        yield log


def _server(port: int, **options: Any) -> MailServer:
    """The test server's settings: in clear unless `starttls=True` is given."""
    settings: dict[str, Any] = {"starttls": False, "timeout_s": 5.0, **options}
    return MailServer("127.0.0.1", port, "omnistock <reports@agency.example>", **settings)


def _send(
    server: MailServer, log: DeliveryLog, sleeps: list[float], to: str = TO
) -> tuple[str, str | None, int | None]:
    record = log.recorder(TENANT, BRAND, KEY, Target("mail", to))
    done = send_mail(server, FAST, MESSAGE, to, KEY, record, sleep=sleeps.append)
    return done.outcome, done.reason, done.code


def _outcomes(log: DeliveryLog) -> list[tuple[int, str, int | None]]:
    rows = sorted(log.read(TENANT, key=KEY), key=lambda r: r.attempt)
    return [(r.attempt, r.outcome, r.code) for r in rows]


def test_a_report_arrives_whole(log: DeliveryLog) -> None:
    with smtp_server() as smtp:
        sleeps: list[float] = []
        assert _send(_server(smtp.port), log, sleeps)[0] == "sent"
        assert smtp.inbox.tries == 1
    assert sleeps == []
    [mail] = smtp.inbox.mails
    assert smtp.inbox.envelopes == [("reports@agency.example", [TO])]
    assert mail["Subject"] == MESSAGE.subject
    assert mail["To"] == TO
    assert mail["From"] == "omnistock <reports@agency.example>"
    assert mail[KEY_HEADER] == KEY
    assert mail["Message-ID"].endswith("@agency.example>")
    body = mail.get_body(preferencelist=("html",))
    assert body is not None and "GMV ¥1,204,000" in body.get_content()
    plain = mail.get_body(preferencelist=("plain",))
    assert plain is not None and plain.get_content().startswith("双11")
    files = {str(part.get_filename()): part for part in mail.iter_attachments()}
    assert sorted(files) == ["b1 双11.pdf", "b1 双11.xlsx"]
    xlsx = files["b1 双11.xlsx"]
    assert xlsx.get_content_type() == XLSX
    book = openpyxl.load_workbook(io.BytesIO(xlsx.get_content()))
    assert book["销售"]["A2"].value == "天猫旗舰店" and book["销售"]["B2"].value == 1204
    pdf = files["b1 双11.pdf"].get_content()
    assert pdf == MESSAGE.attachments[1].content
    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages) == 1
    assert _outcomes(log) == [(1, "sent", 250)]


def test_421_then_250_is_retried_and_sent_once(log: DeliveryLog) -> None:
    with smtp_server(["421 4.3.2 try again later"]) as smtp:
        sleeps: list[float] = []
        assert _send(_server(smtp.port), log, sleeps)[0] == "sent"
    assert smtp.inbox.tries == 2 and len(smtp.inbox.mails) == 1
    assert sleeps == [0.01]
    assert _outcomes(log) == [(1, "retry", 421), (2, "sent", 250)]
    [retry] = [r for r in log.read(TENANT, key=KEY) if r.outcome == "retry"]
    assert retry.reason is not None and "try again later" in retry.reason


def test_greylisting_waits_double_each_time_up_to_the_cap(log: DeliveryLog) -> None:
    with smtp_server(["451 greylisted"] * 3) as smtp:
        sleeps: list[float] = []
        assert _send(_server(smtp.port), log, sleeps)[0] == "sent"
    assert sleeps == [0.01, 0.02, 0.03]
    assert [o for _, o, _ in _outcomes(log)] == ["retry", "retry", "retry", "sent"]


def test_550_fails_at_once_with_the_reason(log: DeliveryLog) -> None:
    with smtp_server(["550 5.1.1 mailbox unavailable"]) as smtp:
        sleeps: list[float] = []
        outcome, reason, code = _send(_server(smtp.port), log, sleeps)
    assert (outcome, code) == ("failed", 550)
    assert reason is not None and "mailbox unavailable" in reason and "127.0.0.1" in reason
    assert sleeps == [] and smtp.inbox.mails == []
    assert _outcomes(log) == [(1, "failed", 550)]


def test_connection_refused_is_retried_then_failed_and_logged(log: DeliveryLog) -> None:
    port = free_port()  # nothing listens there
    sleeps: list[float] = []
    outcome, reason, code = _send(_server(port), log, sleeps)
    assert outcome == "failed" and code is None
    assert reason is not None and "refused" in reason.lower()
    assert "gave up after 4 attempts" in reason
    assert sleeps == [0.01, 0.02, 0.03]
    assert [o for _, o, _ in _outcomes(log)] == ["retry", "retry", "retry", "failed"]


def test_a_server_that_never_answers_times_out_and_is_retried(log: DeliveryLog) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections are taken by the kernel; no greeting ever comes
        server = MailServer(
            "127.0.0.1", silent.getsockname()[1], "r@agency.example", False, timeout_s=0.2
        )
        record = log.recorder(TENANT, BRAND, KEY, Target("mail", TO))
        retry = Retry(attempts=2, backoff_s=0.0)
        done = send_mail(server, retry, MESSAGE, TO, KEY, record, sleep=lambda _: None)
    assert done.outcome == "failed"
    assert done.reason is not None and "no answer within 0.2 s" in done.reason
    assert [o for _, o, _ in _outcomes(log)] == ["retry", "failed"]


@pytest.mark.parametrize("address", ["not-an-address", "a@b", "x@@y.com", "", "a b@c.com"])
def test_an_address_that_is_not_one_is_refused_before_sending(
    log: DeliveryLog, address: str
) -> None:
    with smtp_server() as smtp:
        outcome, reason, _ = _send(_server(smtp.port), log, [], to=address)
    assert smtp.inbox.tries == 0
    assert outcome == "failed"
    assert reason is not None and repr(address) in reason and "not a mail address" in reason
    [row] = log.read(TENANT, key=KEY)
    assert row.outcome == "failed" and row.target == address


def test_starttls_and_login_against_a_self_signed_ca(log: DeliveryLog, tmp_path: Path) -> None:
    with smtp_server(tls=True, folder=tmp_path) as smtp:
        server = _server(
            smtp.port,
            starttls=True,
            user=USER,
            password=SecretStr(PASSWORD),
            ca_file=smtp.ca_file,
        )
        assert _send(server, log, [])[0] == "sent"
        assert len(smtp.inbox.mails) == 1
        # Without the CA the certificate does not check out: failed, not retried.
        untrusted = _server(smtp.port, starttls=True, user=USER, password=SecretStr(PASSWORD))
        sleeps: list[float] = []
        outcome, reason, _ = _send(untrusted, log, sleeps, to="other@brand.example")
    assert outcome == "failed" and sleeps == []
    assert reason is not None and "certificate" in reason.lower()


def test_tls_from_the_first_byte_as_on_port_465(log: DeliveryLog, tmp_path: Path) -> None:
    with smtp_server(tls=True, folder=tmp_path, implicit_tls=True) as smtp:
        server = _server(
            smtp.port, ssl=True, user=USER, password=SecretStr(PASSWORD), ca_file=smtp.ca_file
        )
        assert _send(server, log, [])[0] == "sent"
    [mail] = smtp.inbox.mails
    assert mail["Subject"] == MESSAGE.subject


def test_the_password_is_never_in_the_log_nor_an_error(log: DeliveryLog, tmp_path: Path) -> None:
    wrong = "Wr0ng-pa55word"
    with smtp_server(tls=True, folder=tmp_path) as smtp:
        server = _server(
            smtp.port, starttls=True, user=USER, password=SecretStr(wrong), ca_file=smtp.ca_file
        )
        outcome, reason, code = _send(server, log, [])
    # The server echoed the password it was given in its 535: the sender cut it.
    assert (outcome, code) == ("failed", 535)
    assert reason is not None and "bad login ***" in reason
    for row in log.read(TENANT):
        assert wrong not in str(row.to_json())
    assert wrong not in repr(server) and wrong not in str(server)


def test_the_server_comes_from_the_settings() -> None:
    assert MailServer.from_settings(Settings()) is None
    settings = Settings(
        smtp_host="smtp.agency.example",
        smtp_port=465,
        smtp_ssl=True,
        smtp_user=USER,
        smtp_password=SecretStr(PASSWORD),
    )
    server = MailServer.from_settings(settings)
    assert server is not None and server.ssl and server.port == 465
    assert server.password is not None and server.password.get_secret_value() == PASSWORD
    assert PASSWORD not in repr(settings)
    assert Retry.from_settings(settings).wait_s(1) == settings.delivery_backoff_s
    assert Retry(5, 30, 600).wait_s(10) == 600
