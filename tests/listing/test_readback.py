"""Read-back against the sandbox marketplace over loopback HTTP, and the comparison on its
own: what counts as the same value on each platform's wire."""

from __future__ import annotations

import copy
import time
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.listing.adapters.shapes import SHAPES
from engine.listing.marketplace import ItemState, ListedItem, Status
from engine.listing.readback import Difference, compare, report
from engine.listing.sandbox import SandboxConfig
from tests.listing.conftest import PLATFORMS, connect_shop, new_code, payload_of, running_shoe
from tests.listing.sandbox import running_sandbox

# --- against the sandbox -------------------------------------------------------------


def test_published_products_read_back_as_sent(sandbox_root: str) -> None:
    """Two products on each platform, then new stock and a new price: every read-back
    equals the intent, on every platform's wire."""
    pairs: list[tuple[str, dict[str, Any], ListedItem | None]] = []
    started = time.perf_counter()
    for platform in PLATFORMS:
        shop_id = new_code("shop-")
        with connect_shop(sandbox_root, platform, shop_id) as shop:
            for stock in (3, 7):
                product = running_shoe(new_code())
                shop.publish(payload_of(product, platform, stock=stock))
                codes = [s.sku_code for s in product.skus]
                shop.update_stock(product.spu_code, dict.fromkeys(codes, 12))
                shop.update_price(product.spu_code, {codes[1]: Decimal("349.50")})
                intended = payload_of(product, platform, stock=12)
                _set_price(platform, intended, codes[1], Decimal("349.50"))
                pairs.append(
                    (f"{shop_id}/{product.spu_code}", intended, shop.get(product.spu_code))
                )
    result = report(pairs, time.perf_counter() - started)
    assert result.differences == [] and result.missing == []
    assert (result.items, result.equal, result.accuracy) == (10, 10, 1.0)
    assert result.throughput_per_s > 0


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_dropped_stock_update_is_named_with_both_values(shop_id: str, platform: str) -> None:
    product = running_shoe(new_code())
    first, second = (s.sku_code for s in product.skus)
    with (
        running_sandbox(SandboxConfig(drop_rate=1.0)) as root,
        connect_shop(root, platform, shop_id) as shop,
    ):
        shop.publish(payload_of(product, platform, stock=5))
        shop.update_stock(product.spu_code, {first: 40, second: 5})  # answered ok, dropped
        item = shop.get(product.spu_code)
    intended = payload_of(product, platform, stock=5)
    shape = SHAPES[platform]
    intended[shape.skus][0][shape.sku_stock] = 40
    if shape.item_stock:
        intended[shape.item_stock] = 45
    key = f"{shop_id}/{product.spu_code}"
    result = report([(key, intended, item)], 0.5)
    expected = [(key, Difference(f"{shape.skus}[{first}].{shape.sku_stock}", 40, 5))]
    if shape.item_stock:
        expected.append((key, Difference(shape.item_stock, 45, 10)))
    assert result.differences == expected
    assert (result.items, result.equal, result.accuracy, result.missing) == (1, 0, 0.0, [])
    assert result.throughput_per_s == 2.0


def test_an_item_the_platform_does_not_hold_is_missing(sandbox_root: str, shop_id: str) -> None:
    listed, never = running_shoe(new_code()), running_shoe(new_code())
    with connect_shop(sandbox_root, "jd", shop_id) as shop:
        shop.publish(payload_of(listed, "jd"))
        pairs = [(p.spu_code, payload_of(p, "jd"), shop.get(p.spu_code)) for p in (listed, never)]
    result = report(pairs, 1.0)
    assert result.missing == [never.spu_code] and result.differences == []
    assert (result.items, result.equal, result.accuracy) == (2, 1, 0.5)
    assert compare(pairs[1][1], None) == [Difference("item", "listed", None)]


# --- the comparison on its own ------------------------------------------------------


def _set_price(platform: str, payload: dict[str, Any], code: str, price: Decimal) -> None:
    """The price as the platform writes it, in the payload's SKU and its item price."""
    shape = SHAPES[platform]
    skus = payload[shape.skus]
    for sku in skus:
        if sku[shape.sku_code] == code:
            for name in shape.sku_price:
                sku[name] = int(price * 100) if shape.fen else f"{price:.2f}"
    if shape.item_price:
        payload[shape.item_price] = f"{min(Decimal(str(s[shape.sku_price[0]])) for s in skus):.2f}"


def _listed(platform: str, record: dict[str, Any]) -> ListedItem:
    """What an adapter reads from a platform record (yuan prices, stock per SKU)."""
    shape = SHAPES[platform]
    skus = record[shape.skus]
    unit = Decimal(100) if shape.fen else Decimal(1)
    return ListedItem(
        platform=platform,
        shop_id="shop-1",
        outer_id=record[shape.outer_id],
        item_id="1",
        state=ItemState(Status.ON_SALE),
        title=record[shape.title],
        prices={
            s[shape.sku_code]: (Decimal(str(s[shape.sku_price[0]])) / unit).quantize(
                Decimal("0.01")
            )
            for s in skus
        },
        stock={s[shape.sku_code]: int(s[shape.sku_stock]) for s in skus},
        payload=record,
    )


def test_the_same_value_on_the_wire_is_no_difference() -> None:
    payload = payload_of(running_shoe("S1"), "taobao")
    record = copy.deepcopy(payload)
    record["price"] = "399"  # money: 399 yuan however it is written
    record["skus"][0]["price"] = "399.0"
    record["props"]["上市年份"] = "2026"  # a number read back as its text
    record["skus"].reverse()  # SKUs are matched by code, not position
    record["extra_field"] = "the platform's own"
    assert compare(payload, _listed("taobao", record)) == []


def test_each_kind_of_difference_is_named() -> None:
    payload = payload_of(running_shoe("S1"), "pdd")
    record = copy.deepcopy(payload)
    record["goods_name"] = "another title"
    record["is_folt"] = 1  # a flag is not a number
    record["carousel_gallery"] = record["carousel_gallery"][:1]
    record["goods_properties"]["材质"] = "棉"
    del record["goods_desc"]
    record["sku_list"][0]["multi_price"] = 38800  # money in fen
    record["sku_list"][1]["out_sku_sn"] = "S1-99"  # one SKU gone, another come
    found = compare(payload, _listed("pdd", record))
    assert found == [
        Difference("goods_name", payload["goods_name"], "another title"),
        Difference("sku_list[S1-40].multi_price", 39900, 38800),
        Difference("sku_list[S1-41]", "S1-41", None),
        Difference("sku_list[S1-99]", None, "S1-99"),
        Difference("goods_properties.材质", "网布", "棉"),
        Difference("goods_desc", payload["goods_desc"], None),
        Difference("carousel_gallery", payload["carousel_gallery"], record["carousel_gallery"]),
        Difference("is_folt", True, 1),
    ]


def test_price_and_stock_per_sku_come_from_the_read_item() -> None:
    payload = payload_of(running_shoe("S1"), "douyin", stock=5)
    item = _listed("douyin", copy.deepcopy(payload))
    changed = ListedItem(
        **{
            **item.__dict__,
            "prices": {"S1-40": Decimal("399.00"), "S1-41": Decimal("1.00")},
            "stock": {"S1-40": 5, "S1-41": 0},
        }
    )
    assert compare(payload, changed) == [
        Difference("spec_prices[S1-41].price", Decimal("399.00"), Decimal("1.00")),
        Difference("spec_prices[S1-41].stock_num", 5, 0),
    ]


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaves(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaves(v, (*path, i))]
    return [path]


@settings(max_examples=60, deadline=None)
@given(platform=st.sampled_from(PLATFORMS), data=st.data())
def test_any_changed_leaf_is_exactly_one_difference(platform: str, data: st.DataObject) -> None:
    """Change one value anywhere in the platform's record (to a text no payload holds):
    compare names that one field; unchanged, it finds nothing."""
    shape = SHAPES[platform]
    payload = payload_of(running_shoe("S1"), platform)
    assert compare(payload, _listed(platform, copy.deepcopy(payload))) == []
    path = data.draw(st.sampled_from(_leaves(payload)))
    if path[0] == shape.skus and path[2] == shape.sku_code:
        return  # a changed SKU code is a SKU gone and another come (tested above)
    record = copy.deepcopy(payload)
    target: Any = record
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = "changed\u2603"
    if path[0] == shape.skus and path[2] in (shape.sku_price[0], shape.sku_stock):
        return  # price and stock are read by the adapter, not from the record
    found = compare(payload, _listed_record(platform, payload, record))
    assert [(d.field, d.listed) for d in found] == [
        (_field(platform, payload, path), "changed\u2603")
    ]


def _field(platform: str, payload: dict[str, Any], path: tuple[Any, ...]) -> str:
    """The name compare gives a path: SKUs by code, keys after dots, positions in []."""
    shape = SHAPES[platform]
    name, rest = str(path[0]), path[1:]
    if path[0] == shape.skus:
        name, rest = f"{shape.skus}[{payload[shape.skus][path[1]][shape.sku_code]}]", path[2:]
    for part in rest:
        name += f"[{part}]" if isinstance(part, int) else f".{part}"
    return name


def _listed_record(platform: str, payload: dict[str, Any], record: dict[str, Any]) -> ListedItem:
    """The record as read, with the prices and stock of the unchanged payload."""
    clean = _listed(platform, payload)
    return ListedItem(
        **{**clean.__dict__, "title": record[SHAPES[platform].title], "payload": record}
    )
