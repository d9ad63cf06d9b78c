"""Fixtures of the catalog tests: `catalog_db`, an engine on a migrated database of each
backend (a SQLite file in tmp_path, a PostgreSQL database of the test's own), and
`catalog_store` on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from engine.catalog.store import CatalogStore
from engine.db import migrate
from engine.db.connect import connect
from tests.db.databases import BACKENDS, blank_database


@pytest.fixture(params=BACKENDS)
def catalog_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with blank_database(request.param, tmp_path) as url:
        migrate.upgrade(url)
        engine = connect(url)
        try:
            yield engine
        finally:
            engine.dispose()


@pytest.fixture
def catalog_store(catalog_db: Engine) -> CatalogStore:
    return CatalogStore(catalog_db)
