"""An in-process client of the app (fastapi.testclient), one per test module."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from api.app import create_app
from engine.core.settings import Settings

with warnings.catch_warnings():
    # Starlette asks for httpx2 over httpx; both work, the warning is noise here.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(solver_time_limit_s=20.0))) as test_client:
        yield test_client
