"""The interface text of the later pages, one module per page (the same keys in "en"
and "zh"), merged into api/console/i18n.py's TEXT at import: a page's text lives beside
nothing else's, and a key defined twice fails at import."""

from __future__ import annotations

from api.console.texts import catalog, deliveries, listings, settlements

MODULES = (catalog, listings, settlements, deliveries)
