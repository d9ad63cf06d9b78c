"""Interface text of the catalog pages (api/console/pages/catalog.py)."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "nav.catalog": "Catalog",
    },
    "zh": {
        "nav.catalog": "商品资料",
    },
}
