"""The price guard over HTTP and on the command line: a policy is checked against the
tenant's shops, each new version guards every SKU, the latest check is cut to a brand
viewer's brand, listed prices replace list prices, and an import that changes prices
runs the guard again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from engine.cli.app import app
from tests.catalog.test_catalog_api import TM_B1, Api, detail, serving, shoe

Doc = dict[str, Any]
SHOPS = {
    "shops": [
        {"id": "tm-b1", "brand": "b1", "platform": "tmall", "settings": TM_B1},
        {"id": "jd-b2", "brand": "b2", "platform": "jd", "settings": {}},
    ]
}
WINDOW = {"start": "2026-11-01T00:00:00+08:00", "end": "2026-11-12T00:00:00+08:00"}
# 399.00 at 55% is 219.45; the floor of a 150.00 cost at 10% margin is 165.00, of a
# 250.00 cost 275.00: the second SKU breaks its floor, the first does not.
POLICY: Doc = {
    "as_of": "2026-11-11T00:00:00+08:00",
    "min_margin": {"default": "0.10"},
    "promotions": [
        {"id": "clear", "shop": "tm-b1", "kind": "item_discount", "rate": "0.55", **WINDOW}
    ],
}


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[Api]:
    with serving(f"sqlite:///{tmp_path / 'catalog.db'}") as api:
        yield _stocked(api)


def _stocked(api: Api) -> Api:
    api.client.put("/v1/catalog/shops", json=SHOPS, headers=api.operator).raise_for_status()
    cheap = shoe("P1")
    dear = shoe("P2")
    dear["skus"][0]["cost"] = "250.00"
    b2 = shoe("Q1", brand="b2")
    api.post([cheap, dear, b2])
    return api


def test_a_policy_version_guards_every_sku(guarded: Api) -> None:
    response = guarded.client.put("/v1/prices/policy", json=POLICY, headers=guarded.operator)
    assert response.status_code == 200, response.text
    check = response.json()
    assert check["policy_version"] == 1 and check["trigger"] == "price policy v1"
    assert check["summary"]["rows"] == 3  # P1, P2 on tm-b1; Q1 on jd-b2
    assert [(b["sku"], b["shop"], b["status"]) for b in check["breaches"]] == [
        ("P2-40", "tm-b1", "breach")
    ]
    breach = check["breaches"][0]
    assert (breach["floor"], breach["lowest"]) == ("275.00", "219.45")
    assert breach["steps"] == [{"promotion": "clear", "kind": "item_discount", "price": "219.45"}]
    policy = guarded.client.get("/v1/prices/policy", headers=guarded.operator).json()
    assert policy == {"version": 1, "policy": POLICY}


def test_the_latest_check_is_cut_to_a_brand_viewer(guarded: Api) -> None:
    guarded.client.put("/v1/prices/policy", json=POLICY, headers=guarded.operator)
    mine = guarded.client.get("/v1/prices/checks/latest", headers=guarded.viewer).json()
    assert [b["brand"] for b in mine["breaches"]] == ["b1"]
    assert mine["summary"] == {"breach": 1, "may_breach": 0}
    # Writing and the policy itself are the operators'.
    refused = guarded.client.post("/v1/prices/checks", json={}, headers=guarded.viewer)
    assert refused.status_code == 403
    assert guarded.client.get("/v1/prices/policy", headers=guarded.viewer).status_code == 403


def test_listed_prices_replace_list_prices(guarded: Api) -> None:
    guarded.client.put("/v1/prices/policy", json=POLICY, headers=guarded.operator)
    listed = [{"sku": "P2-40", "shop": "tm-b1", "price": "600.00"}]  # 600 x 0.55 = 330
    body = {"listed": listed}
    check = guarded.client.post("/v1/prices/checks", json=body, headers=guarded.operator).json()
    assert check["prices"] == "listed" and check["breaches"] == []
    assert check["trigger"] == "api"


def test_an_import_that_changes_prices_runs_the_guard(guarded: Api) -> None:
    guarded.client.put("/v1/prices/policy", json=POLICY, headers=guarded.operator)
    fixed = shoe("P2")
    fixed["skus"][0]["cost"] = "150.00"
    result = guarded.post([fixed])
    assert result["price_check"]["summary"]["breach"] == 0
    latest = guarded.client.get("/v1/prices/checks/latest", headers=guarded.operator).json()
    assert latest["id"] == result["price_check"]["id"] and latest["breaches"] == []
    assert guarded.post([fixed])["price_check"] is None  # unchanged: no new check


def test_bad_policies_are_named_and_nothing_is_stored(guarded: Api) -> None:
    bad = json.loads(json.dumps(POLICY))
    bad["promotions"][0]["rate"] = "1.5"
    bad["promotions"].append({"id": "x", "shop": "nowhere", "kind": "shop_coupon", "amount": "5"})
    issues = detail(
        guarded.client.put("/v1/prices/policy", json=bad, headers=guarded.operator), 422
    )
    paths = " ".join(i["path"] for i in issues)
    assert "promotions[0]" in paths and "rate" in paths and "promotions[1]" in paths
    assert "nowhere" in json.dumps(issues)
    missing = guarded.client.get("/v1/prices/policy", headers=guarded.operator)
    assert missing.status_code == 422 and "no price policy" in missing.text


def test_prices_check_on_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's flow: import, shops, then the guard with the demo policy (exit 1: some
    SKUs break their floor, each named with its steps); `--json` gives the same rows."""
    demo = Path(__file__).resolve().parents[2] / "scenarios" / "demo"
    env = {
        "OMNISTOCK_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "OMNISTOCK_KEYS_FILE": str(tmp_path / "keys.json"),
    }
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(app, list(args), env=env)

    assert run("catalog", "import", str(demo / "catalog.csv")).exit_code == 0
    assert run("catalog", "shops", str(demo / "shops.yaml")).exit_code == 0
    shown = run("prices", "check", "--policy", str(demo / "promotions.yaml"), "--json")
    assert shown.exit_code == 1, shown.output
    check = json.loads(shown.stdout)
    clearance = {
        b["sku"] for b in check["breaches"] if b["steps"][0]["promotion"].endswith("clearance")
    }
    assert len(clearance) == 6  # the demo's clearance SKUs, each below its floor
    assert all(
        b["status"] == "breach" and Decimal(b["lowest"]) < Decimal(b["floor"]) < Decimal(b["base"])
        for b in check["breaches"]
    )
    again = run("prices", "check", "--json")  # the stored policy
    assert again.exit_code == 1 and json.loads(again.stdout)["breaches"] == check["breaches"]
    bad_at = run("prices", "check", "--at", "yesterday")
    assert bad_at.exit_code == 2 and "--at" in bad_at.output
