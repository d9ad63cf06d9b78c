"""Forms that only this session's pages could have made, each acted on once.

Every form a page renders carries a fresh form id, the names and values of its hidden
fields, and a MAC over them with the session's secret and the URL the form posts to.
A POST is acted on only if the MAC holds - so another site cannot post in the user's
name (it has no secret), a hidden field changed in the browser is refused, and a form
cannot be replayed at another URL - and only the first time its form id arrives: a
form sent twice (a double click, the back button, a resend) is done once.

The sign-in form has no session yet: it carries the value of a cookie of its own
(a double-submit token), which another site can neither read nor set.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from api.console.session import ConsoleSession, SessionStore

FORM_ID = "_form"
SIGNED = "_signed"
MAC = "_mac"
PRE_COOKIE = "omnistock_console_pre"


class FormRefused(Exception):
    """A POST not acted on; `reason` is a key of the interface text."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Form:
    """The hidden fields of one rendered form (as (name, value) pairs, in order)."""

    fields: list[tuple[str, str]]


def _mac(secret: str, action: str, form_id: str, signed: Mapping[str, str]) -> str:
    message = "\n".join([action, form_id, *(f"{k}={v}" for k, v in sorted(signed.items()))])
    return hmac.new(bytes.fromhex(secret), message.encode(), hashlib.sha256).hexdigest()


def form(session: ConsoleSession, action: str, signed: Mapping[str, str] | None = None) -> Form:
    """The hidden fields of a form posting to `action`, carrying `signed` unchanged."""
    signed = dict(signed or {})
    form_id = secrets.token_urlsafe(16)
    mac = _mac(session.csrf_secret, action, form_id, signed)
    names = ",".join(sorted(signed))
    fields = [*signed.items(), (FORM_ID, form_id), (SIGNED, names), (MAC, mac)]
    return Form(fields)


def accept(
    sessions: SessionStore,
    session_id: str,
    session: ConsoleSession,
    action: str,
    posted: Mapping[str, str],
) -> dict[str, str]:
    """The signed fields of a POST to `action`, claimed as done; FormRefused when the
    form is not this session's, was changed, or was sent before."""
    form_id = posted.get(FORM_ID, "")
    mac = posted.get(MAC, "")
    if not form_id or not mac:
        raise FormRefused("form.missing_token")
    names = [n for n in posted.get(SIGNED, "").split(",") if n]
    signed = {name: posted.get(name, "") for name in names}
    if not hmac.compare_digest(_mac(session.csrf_secret, action, form_id, signed), mac):
        raise FormRefused("form.tampered")
    if not sessions.claim_form(session_id, form_id):
        raise FormRefused("form.sent_twice")
    return signed


def pre_token() -> str:
    """A fresh value for the sign-in form's cookie and hidden field."""
    return secrets.token_urlsafe(32)


def check_pre(cookie: str | None, posted: str | None) -> None:
    """FormRefused unless the sign-in form's hidden field matches its cookie."""
    if not cookie or not posted or not hmac.compare_digest(cookie, posted):
        raise FormRefused("form.signin_token")
