"""An unsupported method is a 405 whose Allow names every method of the path, also
where the path's methods are spread over several routes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/v1/mode", {"GET", "PUT"}),
        ("/v1/ruleset", {"GET", "PUT"}),
        ("/v1/jobs/some-job", {"GET", "DELETE"}),
        ("/v1/orders", {"POST"}),
    ],
)
def test_405_names_every_method_of_the_path(
    client: TestClient, path: str, methods: set[str]
) -> None:
    answer = client.request("OPTIONS", path)
    assert answer.status_code == 405
    assert set(answer.headers["allow"].split(", ")) == methods
