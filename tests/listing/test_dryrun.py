"""The dry run: every payload and every refused field, without a call - and what it says
would be refused is what the sandbox marketplace does refuse."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from engine.catalog.model import Product
from engine.catalog.registry import default_registry
from engine.catalog.shops import Shop
from engine.listing.adapters.shapes import SHAPES
from engine.listing.dryrun import dry_run
from engine.listing.marketplace import ListingError
from tests.listing.conftest import (
    PLATFORMS,
    SHOP_SETTINGS,
    connect_shop,
    new_code,
    payload_of,
    running_shoe,
)


def _shops(brand: str = "b1", settings: dict[str, Any] | None = None) -> list[Shop]:
    given = SHOP_SETTINGS if settings is None else settings
    return [
        Shop(id=f"{platform}-{brand}", brand=brand, platform=platform, settings=given)
        for platform in PLATFORMS
    ]


def _broken(spu_code: str) -> Product:
    """No description and no material: refused on every platform."""
    good = running_shoe(spu_code)
    attributes = {k: v for k, v in good.attributes.items() if k != "材质"}
    return good.model_copy(update={"attributes": attributes, "description": None})


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test."""

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("the dry run made a network call")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.mark.usefixtures("no_network")
def test_every_payload_and_refusal_without_a_call() -> None:
    good, broken = running_shoe("D1"), _broken("D2")
    other_brand = running_shoe("D3").model_copy(update={"brand": "b9"})  # no shop of b9
    run = dry_run([good, broken, other_brand], _shops(), default_registry(), {"D1-40": 8})
    assert [(i.shop, i.spu_code, i.ok) for i in run.items] == [
        *[(f"{p}-b1", "D1", True) for p in PLATFORMS],
        *[(f"{p}-b1", "D2", False) for p in PLATFORMS],
    ]
    assert run.refused == len(PLATFORMS)
    for item in run.items[: len(PLATFORMS)]:
        # The payload the shop's platform would receive; SKUs the stock omits hold 0.
        assert item.issues == [] and item.brand == "b1"
        assert item.payload == payload_of(good, item.platform, stock=0) | _stock_of(
            item.platform, item.payload
        )
        assert _sku_stock(item.platform, item.payload) == {"D1-40": 8, "D1-41": 0}
    fields = {i.platform: {x.field for x in i.issues} for i in run.items if not i.ok}
    assert fields == {
        "taobao": {"desc"},
        "tmall": {"description", "props.材质"},
        "jd": {"introduction", "props.材质"},
        "pdd": {"goods_properties.材质"},
        "douyin": {"description", "product_format_new.材质"},
    }


@pytest.mark.usefixtures("no_network")
def test_the_shops_settings_fill_the_payload() -> None:
    bare = dry_run([running_shoe("D4")], _shops(settings={}), default_registry())
    rules = {i.platform: {(x.field, x.rule) for x in i.issues} for i in bare.items}
    assert ("freight_id", "shop_setting") in rules["douyin"]
    assert ("cost_template_id", "shop_setting") in rules["pdd"]
    assert bare.refused == sum(1 for i in bare.items if i.issues) > 0
    assert dry_run([], _shops(), default_registry()).items == []


def _sku_stock(platform: str, payload: dict[str, Any]) -> dict[str, int]:
    shape = SHAPES[platform]
    return {s[shape.sku_code]: s[shape.sku_stock] for s in payload[shape.skus]}


def _stock_of(platform: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload's stock-bearing fields (the SKU list, the item's total)."""
    shape = SHAPES[platform]
    kept = {shape.skus: payload[shape.skus]}
    if shape.item_stock:
        kept[shape.item_stock] = payload[shape.item_stock]
    return kept


@pytest.mark.parametrize("platform", PLATFORMS)
def test_what_the_dry_run_refuses_the_sandbox_refuses(sandbox_root: str, platform: str) -> None:
    """Each refused payload sent anyway: the sandbox's needs-fix error names a field the
    dry run listed."""
    shop_id = new_code("shop-")
    no_freight = {k: v for k, v in SHOP_SETTINGS.items() if k != "freight_template_id"}
    shop = Shop(id=shop_id, brand="b1", platform=platform, settings=no_freight)
    long_title = running_shoe(new_code(), title="Stridewell 跑鞋" * 30)
    no_weight = running_shoe(new_code())
    no_weight = no_weight.model_copy(
        update={"skus": [s.model_copy(update={"weight_g": None}) for s in no_weight.skus]}
    )
    products = [_broken(new_code()), long_title, no_weight]
    run = dry_run(products, [shop], default_registry())
    refused = [i for i in run.items if not i.ok]
    # No description and material; a title over every limit; the third: a weight (JD,
    # Pinduoduo) or the freight template (the shop has none: Tmall, Pinduoduo, Douyin).
    assert len(refused) == (2 if platform == "taobao" else 3)
    with connect_shop(sandbox_root, platform, shop_id) as marketplace:
        for item in refused:
            with pytest.raises(ListingError) as caught:
                marketplace.publish(item.payload)
            error = caught.value
            assert not error.retryable, error
            listed = {issue.field for issue in item.issues}
            assert error.field in listed, (error, listed)
        assert marketplace.items() == []
