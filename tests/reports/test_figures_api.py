"""The report's catalog figures are what the API answers a brand viewer: the price
guard's newest check (a policy put over HTTP) row for row and to the fen, and the
listing completeness per platform, both read back from the catalog database."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from pathlib import Path

import numpy as np

from engine.catalog.store import CatalogStore
from engine.db.connect import connect
from engine.reports.figures import listing_section, prices_section
from engine.reports.inputs import catalog_inputs
from tests.catalog.test_catalog_api import serving
from tests.catalog.test_prices_api import POLICY, _stocked
from tests.reports.test_figures import hand_inputs


def test_the_reports_catalog_figures_are_the_apis(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    with serving(url) as api:
        _stocked(api)  # b1: P1 keeps its floor, P2 breaks it; b2: Q1
        api.client.put("/v1/prices/policy", json=POLICY, headers=api.operator).raise_for_status()
        route = api.client.get("/v1/prices/checks/latest", headers=api.viewer).json()
        complete = api.get("/completeness", headers=api.viewer)["platforms"]
    store = CatalogStore(connect(url))
    try:
        prices, completeness = catalog_inputs(store, "acme", "b1")
    finally:
        store.dispose()
    assert prices is not None
    assert list(prices.breaches) == route["breaches"] and prices.check_id == str(route["id"])
    assert len(route["breaches"]) == 1  # the viewer sees b1's one breach, not b2's rows
    assert [asdict(c) for c in completeness] == complete and complete

    inputs = hand_inputs(
        prices=prices, completeness=completeness, units=np.zeros((2, 2, 3), np.int64)
    )
    section = prices_section(inputs)
    assert {f.key: f.value for f in section.figures} == {
        "breaches": route["summary"]["breach"],
        "may_breach": route["summary"]["may_breach"],
    }
    (row,) = section.table("breaches").rows
    (breach,) = route["breaches"]
    fen = [int(Decimal(breach[k]) * 100) for k in ("base", "lowest", "floor")]
    assert row == (breach["sku"], breach["shop"], *fen, "breach")
    table = listing_section(inputs).table("completeness")
    assert [(r[0], r[1], r[2], r[4]) for r in table.rows] == [
        (c["platform"], c["products"], c["ready"], c["mean_score"]) for c in complete
    ]
