"""Interface text of the settlement pages (api/console/pages/settlements.py)."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "nav.settlements": "Settlements",
    },
    "zh": {
        "nav.settlements": "结算对账",
    },
}
