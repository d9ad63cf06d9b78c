"""The catalog pages."""

from __future__ import annotations

from api.console.web import console_router

router = console_router()
