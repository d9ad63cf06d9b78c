"""The completeness overview counted by the database is the one the rows give, and the
product search by code finds what a reader of every row would - on the demo's catalog,
on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from engine.services import catalog as service
from engine.services.catalog import Catalog, open_catalog
from tests.db.databases import BACKENDS, blank_database

DEMO = Path(__file__).resolve().parents[2] / "scenarios" / "demo"
TENANT = "demo"


@pytest.fixture(params=BACKENDS, scope="module")
def demo_catalog(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Catalog]:
    with blank_database(request.param, tmp_path_factory.mktemp("db")) as url:
        catalog = open_catalog(url, migrate_now=True)
        try:
            shops = yaml.safe_load((DEMO / "shops.yaml").read_text())
            service.put_shops(catalog, TENANT, shops, "test", "shops.yaml")
            service.import_file(catalog, TENANT, DEMO / "catalog.csv", "test")
            yield catalog
        finally:
            catalog.store.engine.dispose()


@pytest.mark.parametrize("brand", [None, "b1", "b2"])
@pytest.mark.parametrize("platform", [None, "tmall"])
def test_the_overview_is_what_every_row_says(
    demo_catalog: Catalog, brand: str | None, platform: str | None
) -> None:
    rows = service.completeness(demo_catalog, TENANT, brand, platform)
    assert rows, "the demo has completeness rows"
    summary, blockers = service.completeness_overview(demo_catalog, TENANT, brand, platform)
    assert summary == service.completeness_summary(rows)
    assert blockers == service.blocker_view(rows)
    assert any(not row.ok for row in rows) and blockers


def test_a_products_rows_are_its_own(demo_catalog: Catalog) -> None:
    rows = service.completeness(demo_catalog, TENANT, "b1")
    spu = rows[0].spu_code
    mine = service.product_completeness(demo_catalog, TENANT, "b1", spu)
    assert mine == [row for row in rows if row.spu_code == spu]


def test_products_found_by_a_part_of_a_spu_or_sku_code(demo_catalog: Catalog) -> None:
    store = demo_catalog.store
    every = store.current(TENANT, "b1")
    product = every[3].product
    sku_code = product.skus[0].sku_code
    for part in (product.spu_code[:7].lower(), sku_code.lower()):
        total, found = store.list_products(TENANT, "b1", limit=1000, code=part)
        expected = [
            p
            for p in every
            if part.lower() in p.product.spu_code.lower()
            or any(part.lower() in s.sku_code.lower() for s in p.product.skus)
        ]
        assert 0 < total == len(expected) <= 1000 and found == expected
    assert store.list_products(TENANT, "b1", code="%_")[0] == 0  # wildcards are text
