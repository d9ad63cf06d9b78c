"""The console's pages, one module each, in the order their routes are matched (a
fixed path such as /plans/new before /plans/{plan_id})."""

from __future__ import annotations

from api.console.pages import (
    catalog,
    compare,
    deliveries,
    listings,
    make_plan,
    mode,
    plans,
    publish,
    reports,
    scenarios,
    settlements,
    shelf,
    signin,
    warnings,
)

PAGES = (
    signin,
    make_plan,
    plans,
    warnings,
    compare,
    publish,
    mode,
    scenarios,
    shelf,
    deliveries,  # /reports/recipients, /reports/schedules... before /reports/{build_id}
    reports,
    catalog,
    listings,
    settlements,
)
