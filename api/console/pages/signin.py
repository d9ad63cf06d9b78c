"""Signing in with an API key, and out; the console's front door."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request, Response

from api.console import csrf
from api.console.i18n import LANG_COOKIE, LANGS
from api.console.session import COOKIE, SignInNeeded, current, sign_in
from api.console.web import PREFIX, VisitDep, console_of, console_router, redirect, render
from engine.access.errors import Unauthenticated
from engine.access.repository import KeyRepository

router = console_router()

# Where a sign-in may send the browser on: a console page, never another site.
HOME = "/plans"


def _next_path(value: str | None) -> str:
    if value and value.startswith(PREFIX + "/") and "//" not in value and "\\" not in value:
        return value.removeprefix(PREFIX)
    return HOME


@router.get("")
@router.get("/")
def home() -> Response:
    return redirect(HOME)


@router.get("/sign-in")
def sign_in_page(
    request: Request,
    why: str | None = None,
    key_id: str = "",
    at: str = "",
    next: str | None = None,
) -> Response:
    """The sign-in form, saying why it is shown (signed out, session ended, key revoked)."""
    keys: KeyRepository = request.app.state.keys
    try:
        current(console_of(request).sessions, keys, request.cookies.get(COOKIE))
        return redirect(_next_path(next))
    except SignInNeeded:
        pass
    return _form(request, why, {"key_id": key_id, "at": at}, next, None, 200)


def _form(
    request: Request,
    why: str | None,
    details: dict[str, str],
    next_path: str | None,
    refused: str | None,
    status: int,
) -> Response:
    known = why in {"signin.needed", "signin.expired", "signin.revoked", "signin.signed_out"}
    token = csrf.pre_token()
    response = render(
        request,
        "signin.html.j2",
        status,
        why=why if known else None,
        details=details,
        next=next_path or "",
        pre=token,
        refused=refused,
    )
    secure = request.url.scheme == "https"
    response.set_cookie(
        csrf.PRE_COOKIE, token, httponly=True, samesite="lax", secure=secure, path=PREFIX
    )
    return response


@router.post("/sign-in")
def sign_in_post(
    request: Request,
    key: Annotated[str, Form()] = "",
    pre: Annotated[str, Form(alias="_pre")] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Check the key, start a session and go on to the page asked for (or the plans)."""
    csrf.check_pre(request.cookies.get(csrf.PRE_COOKIE), pre)
    keys: KeyRepository = request.app.state.keys
    try:
        sessions = console_of(request).sessions
        session_id, session = sign_in(sessions, keys, key)
    except Unauthenticated as error:
        return _form(request, None, {}, next, error.reason, 401)
    request.state.tenant = session.tenant
    response = redirect(_next_path(next))
    secure = request.url.scheme == "https"
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=int(sessions.lifetime_s),
        httponly=True,
        samesite="lax",
        secure=secure,
        path=PREFIX,
    )
    response.delete_cookie(csrf.PRE_COOKIE, path=PREFIX)
    return response


@router.post("/sign-out")
async def sign_out(visit: VisitDep) -> Response:
    """End the session (the form is checked like any other: no site signs you out)."""
    await visit.accept("/sign-out", writes=False)
    console_of(visit.request).sessions.end(visit.session_id)
    response = redirect("/sign-in", why="signin.signed_out")
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


@router.get("/lang/{code}")
def switch_language(code: str, back: str = "") -> Response:
    """Show the interface in `code` (en or zh) from now on, in this browser."""
    response = redirect(_next_path(back))
    if code in LANGS:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="lax", path=PREFIX)
    return response
