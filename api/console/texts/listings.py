"""Interface text of the listing pages (api/console/pages/listings.py)."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "nav.listings": "Listings",
    },
    "zh": {
        "nav.listings": "上架",
    },
}
