"""The operators' console: server-rendered pages at /console over the same services and
access rules as the API (api/console/web.py says how a page is made).

`api.app.create_app` calls `mount_console(app)` last (its catch-all page comes after
every other route): each page module's routes, the static files and the sessions (in
the app's Redis when the stores are there, else in this process)."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.staticfiles import StaticFiles

from api.console import i18n
from api.console.pages import PAGES
from api.console.session import SessionStore, session_store
from api.console.web import (
    PREFIX,
    STATIC,
    Console,
    console_router,
    error_response,
    lang_of,
)

__all__ = ["mount_console"]


def mount_console(app: FastAPI, sessions: SessionStore | None = None) -> None:
    """Serve the console at /console on `app`; `sessions` default to the deployment's
    (api/console/session.py)."""
    settings = app.state.settings
    redis_url = app.state.stores.redis_url
    lasting = (settings.console_idle_s, settings.console_lifetime_s)
    app.state.console = Console(sessions or session_store(redis_url, *lasting))
    app.mount(PREFIX + "/static", StaticFiles(directory=STATIC), name="console-static")
    for page in PAGES:
        app.include_router(page.router, prefix=PREFIX)
    app.include_router(_unknown, prefix=PREFIX)


_unknown = console_router()


@_unknown.api_route("/{rest:path}", methods=["GET", "POST"])
def no_such_page(request: Request, rest: str) -> Response:
    """A console address with no page: a page saying so, not the API's JSON 404."""
    message = i18n.text(lang_of(request), "error.no_page", path=request.url.path)
    return error_response(request, HTTPException(404, message))
