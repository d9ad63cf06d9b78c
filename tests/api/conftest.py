"""An in-process client of the app (fastapi.testclient), one per test module, sending
a key that may read (a brand viewer's: the most limited key that can use the shelf
routes)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from api.app import create_app
from engine.access.repository import InMemoryKeyRepository
from engine.core.settings import Settings

with warnings.catch_warnings():
    # Starlette asks for httpx2 over httpx; both work, the warning is noise here.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def keys() -> InMemoryKeyRepository:
    return InMemoryKeyRepository()


@pytest.fixture(scope="module")
def client(keys: InMemoryKeyRepository) -> Iterator[TestClient]:
    key, _ = keys.create("acme", "brand_viewer", "b1")
    app = create_app(Settings(solver_time_limit_s=20.0), keys=keys)
    with TestClient(app, headers={"Authorization": f"Bearer {key}"}) as test_client:
        yield test_client
