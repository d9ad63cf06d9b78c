"""The report's price breaches are the rows the API answers a brand viewer for the price
guard's newest check: a policy put over HTTP, the check read back from the catalog
database by the report, row for row and to the fen."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np

from engine.catalog.store import CatalogStore
from engine.db.connect import connect
from engine.reports.figures import prices_section
from engine.reports.inputs import brand_breaches
from tests.catalog.test_catalog_api import serving
from tests.catalog.test_prices_api import POLICY, _stocked
from tests.reports.test_figures import hand_inputs


def test_the_reports_breaches_are_the_apis(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    with serving(url) as api:
        _stocked(api)  # b1: P1 keeps its floor, P2 breaks it; b2: Q1
        api.client.put("/v1/prices/policy", json=POLICY, headers=api.operator).raise_for_status()
        route = api.client.get("/v1/prices/checks/latest", headers=api.viewer).json()
    store = CatalogStore(connect(url))
    try:
        found = store.latest_price_check("acme")
    finally:
        store.dispose()
    assert found is not None
    prices = brand_breaches(str(found.id), found.created_at.isoformat(), found.body, "b1")
    assert list(prices.breaches) == route["breaches"] and prices.check_id == str(route["id"])
    assert len(route["breaches"]) == 1  # the viewer sees b1's one breach, not b2's rows

    section = prices_section(hand_inputs(prices=prices, units=np.zeros((2, 2, 3), np.int64)))
    assert {f.key: f.value for f in section.figures} == {
        "breaches": route["summary"]["breach"],
        "may_breach": route["summary"]["may_breach"],
    }
    (row,) = section.table("breaches").rows
    (breach,) = route["breaches"]
    fen = [int(Decimal(breach[k]) * 100) for k in ("base", "lowest", "floor")]
    assert row == (breach["sku"], breach["shop"], *fen, "breach")
