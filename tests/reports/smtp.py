"""A real SMTP server on loopback for the tests (aiosmtpd), keeping what it was sent:
scripted replies first (421, 550...) then 250, optionally with STARTTLS and a login
against a throwaway CA (trustme), so the mail sender is tested against the protocol,
not a mock."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.redis_server import free_port

USER, PASSWORD = "reports@agency.example", "s3cret-Pw!"


@dataclass
class Inbox:
    """What the server took (whole mails, parsed) and the replies it has yet to give to
    DATA, one per try; an empty script answers 250."""

    script: list[str] = field(default_factory=list)
    mails: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    tries: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.tries += 1
        if self.script:
            return self.script.pop(0)
        mail = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.mails.append(mail)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK queued"


@dataclass
class Server:
    port: int
    inbox: Inbox
    ca_file: Path | None = None


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    if isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    ):
        return AuthResult(success=True)
    # A careless server that echoes what it was given: the sender must still not log it.
    given = data.password.decode() if isinstance(data, LoginPassword) else "?"
    return AuthResult(success=False, handled=False, message=f"535 5.7.8 bad login {given}")


@contextmanager
def smtp_server(
    script: list[str] | None = None,
    tls: bool = False,
    folder: Path | None = None,
    implicit_tls: bool = False,
) -> Iterator[Server]:
    """A server on a free loopback port; with `tls`, STARTTLS and a login are required
    (with `implicit_tls`, TLS from the first byte instead, as on port 465) and `ca_file`
    (written in `folder`) is the CA its certificate is issued by."""
    inbox = Inbox(list(script or []))
    port = free_port()
    options: dict[str, Any] = {}
    ca_file = None
    if tls:
        assert folder is not None, "a TLS server writes its CA in a folder"
        ca = trustme.CA()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(context)
        ca_file = folder / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        options = {"authenticator": _authenticate, "auth_require_tls": True}
        if implicit_tls:
            # aiosmtpd counts only STARTTLS as TLS for AUTH; this link is TLS throughout.
            options.update(ssl_context=context, auth_require_tls=False)
        else:
            options.update(tls_context=context, require_starttls=True)
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield Server(port, inbox, ca_file)
    finally:
        controller.stop()
