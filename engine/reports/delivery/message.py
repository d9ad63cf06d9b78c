"""What is delivered: a subject, the HTML body and its plain-text twin, the images the
HTML shows (charts, named by `cid:`), the files attached (the workbook, the PDF), and
for chat robots a short markdown summary with a link to the full report. The renderers
fill it; the senders only carry it."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl, urlsplit, urlunsplit

__all__ = [
    "CHANNELS",
    "PDF",
    "PNG",
    "XLSX",
    "Attachment",
    "Channel",
    "InlineImage",
    "Message",
    "Target",
    "shown_url",
]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"
PNG = "image/png"
# A Content-ID (RFC 2392: `local@domain`, without its <>), kept to letters, digits, dots,
# dashes and underscores: the HTML names it as `cid:<id>`, a URL, where any other
# character would have to be escaped (and clients differ in unescaping it).
_CONTENT_ID = re.compile(r"^[\w-]+(?:\.[\w-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*$", re.ASCII)


@dataclass(frozen=True)
class Attachment:
    filename: str  # as the recipient's mail client shows it; Chinese names are fine
    content: bytes
    mime: str  # "type/subtype"

    def __post_init__(self) -> None:
        if "/" not in self.mime:
            raise ValueError(
                f"attachment {self.filename!r}: mime {self.mime!r} is not type/subtype"
            )


@dataclass(frozen=True)
class InlineImage:
    """An image the HTML body shows (`<img src="cid:...">`), sent beside it in the mail
    rather than linked, so it shows without the recipient fetching anything."""

    content_id: str  # local@domain, without the <>
    content: bytes
    mime: str = PNG

    def __post_init__(self) -> None:
        if not _CONTENT_ID.match(self.content_id):
            raise ValueError(f"inline image {self.content_id!r} is not a content id (a@b)")
        if not self.mime.startswith("image/"):
            raise ValueError(f"inline image {self.content_id!r}: mime {self.mime!r} is not image/")


@dataclass(frozen=True)
class Message:
    subject: str
    html: str
    text: str  # for mail clients that show no HTML
    attachments: tuple[Attachment, ...] = ()
    images: tuple[InlineImage, ...] = ()  # what the HTML names by cid:, in the mail only
    # Chat robots: a few lines of markdown (the headline figures) and where the report
    # is (the download URL of the API); the robot's message is the title, the summary
    # and the link.
    summary: str = ""
    link: str | None = None


Channel = Literal["mail", "wecom", "dingtalk"]
CHANNELS: tuple[str, ...] = ("mail", "wecom", "dingtalk")


@dataclass(frozen=True)
class Target:
    """Where one copy goes: a mail address, or a robot's webhook URL (with DingTalk's
    signing secret when the robot has one)."""

    channel: Channel
    address: str
    secret: str | None = field(default=None, repr=False)

    @property
    def shown(self) -> str:
        """The target as logs and the API may show it: a webhook's token is a password
        (whoever has it posts to the group), so only its first characters are kept."""
        if self.channel == "mail":
            return self.address
        return shown_url(self.address)

    @property
    def hash(self) -> str:
        """Which target this is, for the log, without keeping a token in clear."""
        return hashlib.sha256(f"{self.channel}\n{self.address}".encode()).hexdigest()


def shown_url(url: str) -> str:
    """`url` with every query value cut to its first 4 characters and the password of a
    user:password@ part dropped."""
    parts = urlsplit(url)
    query = "&".join(
        f"{name}={value[:4]}***" if value else name
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    )
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
