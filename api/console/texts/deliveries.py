"""Interface text of the report recipients, schedules and delivery log pages
(api/console/pages/deliveries.py)."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "en": {},
    "zh": {},
}
