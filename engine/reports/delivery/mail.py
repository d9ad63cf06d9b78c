"""Mailing a report over SMTP: the HTML body with its plain-text twin and the charts it
shows, the workbook and the PDF attached, to one address at a time (each has its own
outcome in the log).

The MIME tree: mixed[ related[ alternative[text, html], image... ], xlsx, pdf ]. The
images sit in the related part beside the body whose HTML names them by Content-ID,
each marked inline, so clients show them in the body and not as attachments.

A temporary failure - a 4xx reply (421 "try later", greylisting's 450/451), a connection
refused, reset or timed out, a server that hung up - is tried again after a wait that
doubles each time; a 5xx reply (550 no such mailbox, 535 bad login) or a certificate
that does not check out is permanent: trying again would only fail the same way. Once
the server has taken the message (250 after DATA) nothing after it can make it send
again: a failed QUIT is ignored.

The password is read from its SecretStr only to log in, and every reason that reaches
the log or an error has it removed, whatever the server echoes back.
"""

from __future__ import annotations

import hashlib
import re
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from pathlib import Path

from pydantic import SecretStr

from engine.core.settings import Settings
from engine.reports.delivery.errors import BadRecipient
from engine.reports.delivery.log import Attempt, Record
from engine.reports.delivery.message import Message
from engine.reports.delivery.retry import Retry, with_retries

__all__ = ["KEY_HEADER", "MailServer", "check_address", "compose", "send_mail"]

# A plain address, as stored for a recipient: local@domain, the domain dotted ASCII
# (mail to IDN domains goes through their punycode form). No display name, no list.
_ADDRESS = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
# Header of every report mail: the firing's key, for a person tracing a mail to the log.
KEY_HEADER = "X-Omnistock-Report"


@dataclass(frozen=True)
class MailServer:
    host: str
    port: int
    sender: str
    starttls: bool = True
    ssl: bool = False
    user: str | None = None
    password: SecretStr | None = None
    timeout_s: float = 30.0
    ca_file: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> MailServer | None:
        """The server of the settings; None when no SMTP host is set."""
        if not settings.smtp_host:
            return None
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_sender,
            starttls=settings.smtp_starttls,
            ssl=settings.smtp_ssl,
            user=settings.smtp_user,
            password=settings.smtp_password,
            timeout_s=settings.smtp_timeout_s,
            ca_file=settings.smtp_ca_file,
        )

    @property
    def shown(self) -> str:
        return f"{self.host}:{self.port}"

    def clean(self, text: str) -> str:
        """`text` on one line, without the password."""
        text = " ".join(text.split())
        if self.password is not None and self.password.get_secret_value():
            text = text.replace(self.password.get_secret_value(), "***")
        return text


def check_address(address: str, field: str = "target") -> str:
    """The address, if it is one; BadRecipient naming it if not."""
    if not _ADDRESS.match(address) or len(address) > 254:
        raise BadRecipient(field, address, "is not a mail address (expected name@domain.tld)")
    return address


def compose(server: MailServer, message: Message, to: str, key: str) -> EmailMessage:
    """The mail to one address. Its Message-ID comes from the key and the address, so
    the same report to the same person is the same message, however often it is tried:
    a receiving server or client that has it already knows it for a duplicate."""
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = server.sender
    mail["To"] = to
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    domain = parseaddr(server.sender)[1].rpartition("@")[2] or "omnistock"
    digest = hashlib.sha256(f"{key}\n{to}".encode()).hexdigest()[:32]
    mail["Message-ID"] = f"<{digest}@{domain}>"
    mail[KEY_HEADER] = key
    if message.images:
        # Python's email nests related only inside alternative; this tree (the one desktop
        # Outlook writes) is built by hand, and set_content, which would have named the
        # mail's MIME version, is never called on it.
        mail["MIME-Version"] = "1.0"
        mail.make_related()
        mail.set_param("type", "multipart/alternative")  # its root's type (RFC 2387)
        mail.attach(_alternative(message))
        for image in message.images:
            maintype, _, subtype = image.mime.partition("/")
            mail.add_related(
                image.content,
                maintype=maintype,
                subtype=subtype,
                cid=f"<{image.content_id}>",
                disposition="inline",
            )
    else:
        mail.set_content(message.text)
        mail.add_alternative(message.html, subtype="html")
    for attachment in message.attachments:
        maintype, _, subtype = attachment.mime.partition("/")
        mail.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return mail


def _alternative(message: Message) -> EmailMessage:
    part = EmailMessage()
    part.set_content(message.text)
    part.add_alternative(message.html, subtype="html")
    del part["MIME-Version"]  # a header of the mail, not of a part in it
    return part


def send_mail(
    server: MailServer,
    retry: Retry,
    message: Message,
    to: str,
    key: str,
    record: Record,
    sleep: Callable[[float], None] = time.sleep,
) -> Attempt:
    """Send `message` to `to`, retrying temporary failures; `record` is called after each
    try. Returns the last try's outcome: sent, or failed with the reason. An address that
    is not one is a failed attempt, recorded, before any connection is made."""
    try:
        check_address(to)
    except BadRecipient as error:
        refused = Attempt("failed", str(error.issues[0]))
        record(refused)
        return refused
    mail = compose(server, message, to, key)
    sender = parseaddr(server.sender)[1] or server.sender
    return with_retries(lambda: _try_once(server, mail, sender, to), retry, record, sleep)


def _try_once(server: MailServer, mail: EmailMessage, sender: str, to: str) -> Attempt:
    try:
        connection = _open(server)
    except Exception as error:
        return _failure(server, error, "connecting to")
    try:
        connection.send_message(mail, from_addr=sender, to_addrs=[to])
    except Exception as error:
        connection.close()
        return _failure(server, error, "sending to")
    try:
        connection.quit()
    except (smtplib.SMTPException, OSError):
        connection.close()  # the message was taken already: this does not undo it
    return Attempt("sent", "accepted", 250)


def _open(server: MailServer) -> smtplib.SMTP:
    context = ssl.create_default_context(
        cafile=str(server.ca_file) if server.ca_file is not None else None
    )
    connection: smtplib.SMTP
    if server.ssl:
        connection = smtplib.SMTP_SSL(
            server.host, server.port, timeout=server.timeout_s, context=context
        )
    else:
        connection = smtplib.SMTP(server.host, server.port, timeout=server.timeout_s)
    try:
        connection.ehlo()
        if server.starttls and not server.ssl:
            connection.starttls(context=context)
            connection.ehlo()
        if server.user:
            password = server.password.get_secret_value() if server.password else ""
            connection.login(server.user, password)
    except BaseException:
        connection.close()
        raise
    return connection


def _failure(server: MailServer, error: Exception, doing: str) -> Attempt:
    """A try's exception as an outcome: retry (temporary) or failed (permanent)."""
    where = f"{doing} {server.shown}"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(error.recipients.values()))
        return _reply(server, code, reply, where)
    if isinstance(error, smtplib.SMTPResponseException):
        return _reply(server, error.smtp_code, error.smtp_error, where)
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return Attempt("failed", server.clean(f"{where}: {error}"))
    if isinstance(error, TimeoutError) or isinstance(error.__context__, TimeoutError):
        # smtplib reports a reply that never came as the server having hung up.
        return Attempt("retry", f"{where}: no answer within {server.timeout_s:g} s")
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return Attempt("retry", server.clean(f"{where}: the server hung up ({error})"))
    if isinstance(error, ssl.SSLError | ssl.CertificateError):
        # A certificate that does not check out will not check out in a minute either.
        return Attempt("failed", server.clean(f"{where}: TLS failed: {error}"))
    if isinstance(error, OSError):
        # Refused, reset, unreachable, a name that does not resolve (DNS may be back).
        why = error.strerror or str(error) or type(error).__name__
        return Attempt("retry", server.clean(f"{where}: {why}"))
    return Attempt("failed", server.clean(f"{where}: {type(error).__name__}: {error}"))


def _reply(server: MailServer, code: int, reply: bytes | str, where: str) -> Attempt:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    reason = server.clean(f"{where}: {code} {text}")
    # 5xx is permanent; 4xx temporary, and so is anything else (-1: no reply line).
    return Attempt("failed" if 500 <= code < 600 else "retry", reason, code)
