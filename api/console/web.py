"""What every console page shares: who is asking (`Visit`), rendering a template, the
checks a form goes through, and errors shown as pages - never a traceback, never the
API's JSON.

A page is one module in api/console/pages/ with a `router` (a `ConsoleRouter`) and one
template in api/console/templates/; its handlers take a `Visit` (a signed-in browser)
and return `render(...)` or `redirect(...)`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import redis
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from api.console import csrf, i18n
from api.console.session import COOKIE, ConsoleSession, SessionStore, SignInNeeded, current
from api.urls import CONSOLE_PREFIX
from engine.access.errors import Forbidden, KeyFileUnavailable, RateLimited
from engine.access.repository import KeyRepository
from engine.access.roles import Action, authorize
from engine.checks.publish import PublishRefused
from engine.core.errors import ConflictError, InputError, SolverError
from engine.db.errors import DatabaseError
from engine.db.errors import NotFound as RecordNotFound
from engine.jobs.base import JobQueue
from engine.services.stores import StoreRegistry
from engine.store.base import Store
from engine.store.errors import NotFound, StoreError

log = logging.getLogger("omnistock.console")

PREFIX = CONSOLE_PREFIX
TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

# Pages are the user's own data: not cached, not framed by another site, no script or
# style but the console's own files.
HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'",
}


def url(path: str, **query: object) -> str:
    """A console URL: PREFIX + `path`, with the query parameters that are set."""
    params = {k: v for k, v in query.items() if v not in (None, "")}
    return PREFIX + path + ("?" + urlencode(params) if params else "")


@dataclass
class Console:
    """The console's part of the app's state (app.state.console)."""

    sessions: SessionStore
    templates: Environment = field(
        default_factory=lambda: Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(["j2", "html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
    )


def compile_templates(console: Console) -> int:
    """Compile every page's template now (some 0.8 s for them all), so that no one's
    first view of a page waits for its template; `omnistock serve` does it at start."""
    names = [name for name in console.templates.list_templates() if name.endswith(".j2")]
    for name in names:
        console.templates.get_template(name)
    return len(names)


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def lang_of(request: Request) -> i18n.Lang:
    return i18n.choose(
        request.cookies.get(i18n.LANG_COOKIE), request.headers.get("accept-language")
    )


@dataclass
class Visit:
    """One request of a signed-in browser."""

    request: Request
    session_id: str
    session: ConsoleSession
    lang: i18n.Lang

    @property
    def tenant(self) -> str:
        return self.session.tenant

    @property
    def brand(self) -> str | None:
        """The brand a brand viewer is limited to; None for a whole-tenant key."""
        return self.session.brand

    @property
    def store(self) -> Store:
        stores: StoreRegistry = self.request.app.state.stores
        return stores.get(self.session.tenant)

    @property
    def jobs(self) -> JobQueue:
        jobs: JobQueue = self.request.app.state.jobs
        return jobs

    def may(self, action: Action, brand: str | None = None) -> None:
        """Forbidden unless the key may `action` (on `brand`, or the whole tenant)."""
        authorize(self.session.principal, action, self.session.tenant, brand)

    def form(self, action: str, signed: Mapping[str, str] | None = None) -> csrf.Form:
        """The hidden fields of a form of this page posting to console path `action`."""
        return csrf.form(self.session, PREFIX + action, signed)

    async def accept(
        self, action: str, writes: bool = True
    ) -> tuple[dict[str, str], dict[str, str]]:
        """A POSTed form's (signed, all) fields, if the key may write (unless the form
        `writes` nothing) and the form is this session's, unchanged and new
        (api/console/csrf.py); else the refusal."""
        request = self.request
        if writes:
            request.state.audited = True  # a write, or an attempt at one: logged
            if self.session.read_only:
                raise ReadOnly()
            self.may("write")
        posted = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        sessions = console_of(request).sessions
        signed = csrf.accept(sessions, self.session_id, self.session, PREFIX + action, posted)
        return signed, posted


class ReadOnly(Exception):
    """A form posted with a key that may only read."""


def visit(request: Request) -> Visit:
    """The signed-in browser of this request (SignInNeeded when there is none)."""
    keys: KeyRepository = request.app.state.keys
    session_id = request.cookies.get(COOKIE, "")
    session = current(console_of(request).sessions, keys, session_id)
    request.state.tenant = session.tenant  # for the request's log line
    request.state.principal = session.principal  # for the audit log
    request.state.console_session = session
    return Visit(request, session_id, session, lang_of(request))


VisitDep = Annotated[Visit, Depends(visit)]


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page: `template` with `context`, the layout's navigation and the language."""
    lang = lang_of(request)
    session: ConsoleSession | None = getattr(request.state, "console_session", None)
    signout = None
    if session is not None:
        signout = csrf.form(session, PREFIX + "/sign-out")

    def t(key: str, **values: object) -> str:
        return i18n.text(lang, key, **values)

    page = console_of(request).templates.get_template(template)
    html = page.render(
        t=t,
        lang=lang,
        url=url,
        path=request.url.path,
        here=str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
        session=session,
        signout=signout,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def redirect(path: str, **query: object) -> RedirectResponse:
    """See another console page (303: the browser GETs it, a form is not sent again)."""
    return RedirectResponse(url(path, **query), status_code=303, headers=HEADERS)


def _error_page(request: Request, status: int, message: str, issues: Any = ()) -> HTMLResponse:
    lang = lang_of(request)
    title = i18n.text(lang, f"error.{status}") if f"error.{status}" in i18n.TEXT["en"] else ""
    return render(request, "error.html.j2", status, title=title, message=message, issues=issues)


def error_response(request: Request, error: Exception) -> Response:
    """The page for an error a console handler raised."""
    lang = lang_of(request)

    def t(key: str, **values: object) -> str:
        return i18n.text(lang, key, **values)

    if isinstance(error, SignInNeeded):
        query = f"?{request.url.query}" if request.url.query else ""
        next_path = request.url.path + query if request.method == "GET" else None
        response = redirect("/sign-in", why=error.reason, next=next_path, **error.details)
        response.delete_cookie(COOKIE, path=PREFIX)
        return response
    if isinstance(error, ReadOnly):
        return _error_page(request, 403, t("error.read_only"))
    if isinstance(error, Forbidden):
        return _error_page(request, 403, t("error.forbidden", reason=error.reason))
    if isinstance(error, csrf.FormRefused):
        status = 409 if error.reason == "form.sent_twice" else 400
        return _error_page(request, status, t(error.reason))
    if isinstance(error, NotFound | RecordNotFound):
        return _error_page(request, 404, str(error))
    if isinstance(error, InputError):
        issues = [(issue.path, issue.message) for issue in error.issues]
        return _error_page(request, 422, str(error.source or ""), issues)
    if isinstance(error, RequestValidationError):
        issues = [(".".join(map(str, e["loc"])), e["msg"]) for e in error.errors()]
        return _error_page(request, 422, "", issues)
    if isinstance(error, PublishRefused):
        issues = [(f"{w.sku} {w.shop or ''}".strip(), w.message) for w in error.warnings]
        return _error_page(request, 409, str(error).splitlines()[0], issues)
    if isinstance(error, ConflictError | StoreError):  # stale stock version, a key reused
        return _error_page(request, 409, str(error))
    if isinstance(error, RateLimited):
        return _error_page(request, 429, t("error.rate_limited", seconds=error.retry_after_s))
    if isinstance(error, HTTPException):
        return _error_page(request, error.status_code, str(error.detail))
    if isinstance(error, SolverError | KeyFileUnavailable | redis.RedisError | DatabaseError):
        log.error("console %s %s: %s", request.method, request.url.path, error)
        reason = type(error).__name__
        return _error_page(request, 503, t("error.unavailable", reason=reason))
    request_id = getattr(request.state, "request_id", "-")
    log.exception("console %s %s failed (request %s)", request.method, request.url.path, request_id)
    return _error_page(request, 500, t("error.internal", request_id=request_id))


class ConsoleRoute(APIRoute):
    """A console route: whatever its handler (or a dependency) raises becomes a page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as error:  # noqa: BLE001 - every error is a page
                return error_response(request, error)

        return page


def console_router() -> APIRouter:
    """The router of one page module."""
    return APIRouter(route_class=ConsoleRoute, include_in_schema=False)


def ended_progress(status: str, ended: bool, next_path: str) -> JSONResponse:
    """A one-step job's progress as console.js polls it: done when it has ended, and
    then the page to go to."""
    body = {
        "status": status,
        "label": status,
        "done": int(ended),
        "total": 1,
        "finished": ended,
        "next": url(next_path) if ended else None,
    }
    return JSONResponse(body, headers=HEADERS)


def quoted(value: str) -> str:
    """A path segment (a SKU id may hold any character but /)."""
    return quote(value, safe="")
