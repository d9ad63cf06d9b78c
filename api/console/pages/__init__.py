"""The console's pages, one module each, in the order their routes are matched (a
fixed path such as /plans/new before /plans/{plan_id})."""

from __future__ import annotations

from api.console.pages import (
    compare,
    make_plan,
    mode,
    plans,
    publish,
    reports,
    scenarios,
    shelf,
    signin,
    warnings,
)

PAGES = (signin, make_plan, plans, warnings, compare, publish, mode, scenarios, shelf, reports)
