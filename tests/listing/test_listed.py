"""Listed stock read back: the snapshot's listed rows from the items a shop holds, the
snapshot with them for the two-way check, and drift against what was sent - on its own
and round trip through the sandbox marketplace over loopback HTTP."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.catalog.model import Product
from engine.checks.two_way import check_stock
from engine.core.errors import InputError
from engine.core.io import parse_snapshot
from engine.core.snapshot import ListedRow, Snapshot
from engine.listing.listed import Drift, drift, listed_rows, with_listed
from engine.listing.marketplace import ItemState, ListedItem, Marketplace, Status
from engine.listing.sandbox import SandboxConfig
from engine.listing.stockpush import Held, PushPlan, SyncRule, sku_products, stock_updates
from tests.helpers import snapshot_data
from tests.listing.conftest import connect_shop, new_code, payload_of, running_shoe
from tests.listing.sandbox import running_sandbox
from tests.listing.test_stockpush import plan_from


def item(
    shop: str, outer: str, stock: dict[str, int], status: Status = Status.ON_SALE
) -> ListedItem:
    return ListedItem(
        platform="tmall",
        shop_id=shop,
        outer_id=outer,
        item_id=f"i-{outer}",
        state=ItemState(status),
        title=outer,
        prices={sku: Decimal("1.00") for sku in stock},
        stock=stock,
    )


def row(sku: str, shop: str, quantity: int) -> ListedRow:
    return ListedRow(sku=sku, shop=shop, quantity=quantity)


# --- listed rows -------------------------------------------------------------------------


def test_every_sku_of_every_item_is_a_row_in_shop_and_sku_order() -> None:
    items = [
        item("B", "P2", {"P2-40": 4}),
        item("A", "P1", {"P1-41": 0, "P1-40": 7}),
    ]
    assert listed_rows(items) == [
        row("P1-40", "A", 7),
        row("P1-41", "A", 0),
        row("P2-40", "B", 4),
    ]
    assert listed_rows(items, {"B"}) == [row("P2-40", "B", 4)]
    assert listed_rows(items, set()) == []


def test_items_off_sale_list_zero_and_items_in_review_count() -> None:
    items = [
        item("A", "P1", {"P1-40": 7}, Status.DELISTED),
        item("A", "P2", {"P2-40": 5}, Status.REJECTED),
        item("A", "P3", {"P3-40": 3}, Status.IN_REVIEW),
        item("A", "P4", {"P4-40": 2}, Status.ACCEPTED),
    ]
    assert listed_rows(items) == [
        row("P1-40", "A", 0),
        row("P2-40", "A", 0),
        row("P3-40", "A", 3),
        row("P4-40", "A", 2),
    ]


def test_a_sku_on_several_items_of_one_shop_lists_their_sum() -> None:
    """Each item takes orders against its own number: together they sell the sum."""
    items = [
        item("A", "P1", {"S-1": 4}),
        item("A", "P1-copy", {"S-1": 3}),
        item("A", "P1-old", {"S-1": 9}, Status.DELISTED),
        item("B", "P1", {"S-1": 2}),
    ]
    assert listed_rows(items) == [row("S-1", "A", 7), row("S-1", "B", 2)]


def test_a_number_that_cannot_be_a_listing_names_shop_item_and_sku() -> None:
    with pytest.raises(InputError) as caught:
        listed_rows([item("A", "P1", {"P1-40": -2, "P1-41": 1})])
    assert [i.path for i in caught.value.issues] == ["A/P1.stock[P1-40]"]
    assert "not negative" in caught.value.issues[0].message


statuses = st.sampled_from(list(Status))
items_st = st.lists(
    st.builds(
        item,
        st.sampled_from(["A", "B", "C"]),
        st.sampled_from(["P1", "P2", "P3"]),
        st.dictionaries(st.sampled_from(["k1", "k2", "k3", "k4"]), st.integers(0, 50)),
        statuses,
    ),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(items_st)
def test_rows_cover_every_sku_once_with_the_units_on_sale(items: list[ListedItem]) -> None:
    rows = listed_rows(items)
    cells = [(r.shop, r.sku) for r in rows]
    assert cells == sorted(set(cells))
    assert set(cells) == {(i.shop_id, sku) for i in items for sku in i.stock}
    for r in rows:
        on_sale = [
            i.stock[r.sku]
            for i in items
            if i.shop_id == r.shop
            and r.sku in i.stock
            and i.state.status not in {Status.DELISTED, Status.REJECTED}
        ]
        assert r.quantity == sum(on_sale)


# --- the snapshot with them --------------------------------------------------------------


def _snapshot(listed: dict[tuple[str, str], int]) -> Snapshot:
    return parse_snapshot(snapshot_data(pools={"S": 10, "T": 10}, listed=listed))


def test_with_listed_replaces_the_shops_read_and_keeps_the_others() -> None:
    snap = _snapshot({("S", "A"): 5, ("T", "A"): 2, ("S", "B"): 4})
    fresh = with_listed(snap, [row("S", "A", 9)])
    assert {(r.sku, r.shop): r.quantity for r in fresh.listed} == {("S", "A"): 9, ("S", "B"): 4}
    assert snap.listed[0].quantity == 5  # the snapshot itself is unchanged
    # A shop read back with no item at all loses its rows: it lists nothing.
    emptied = with_listed(snap, [], shops=["B"])
    assert {(r.sku, r.shop) for r in emptied.listed} == {("S", "A"), ("T", "A")}


def test_rows_the_snapshot_cannot_hold_are_input_errors_naming_the_row() -> None:
    snap = _snapshot({})
    rows = [row("S", "A", 1), row("X", "A", 1), row("S", "Z", 1), row("S", "A", 2)]
    with pytest.raises(InputError) as caught:
        with_listed(snap, rows)
    assert [i.path for i in caught.value.issues] == ["rows[1].sku", "rows[2].shop", "rows[3]"]
    assert "first at rows[0]" in caught.value.issues[2].message


def test_the_check_reads_what_the_platform_holds() -> None:
    """A shop that lists more than exists is an oversell risk once the read-back says
    so, whatever the snapshot thought it listed."""
    snap = _snapshot({("S", "A"): 3})
    assert not [w for w in check_stock(snap) if w.code == "oversell_risk"]
    read = listed_rows([item("A", "P1", {"S": 25})])
    warnings = check_stock(with_listed(snap, read))
    assert [(w.code, w.shop) for w in warnings if w.code == "oversell_risk"] == [
        ("oversell_risk", "A")
    ]


# --- drift -------------------------------------------------------------------------------


def test_drift_explains_each_difference_plainly() -> None:
    intended = {("A", "S"): 8, ("A", "T"): 5, ("B", "S"): 6, ("B", "T"): 4, ("C", "S"): 2}
    rows = [row("S", "A", 8), row("T", "A", 7), row("S", "B", 3), row("U", "B", 2)]
    hold = Held("B", "T", 4, None, "SKU not in the catalog")
    assert drift(intended, rows, [hold], shops={"A", "B"}) == [
        Drift(
            "A",
            "T",
            5,
            7,
            "platform shows more than sent: an update was lost, or it was raised there",
        ),
        Drift(
            "B", "S", 6, 3, "platform shows less than sent: sold since the push, or lowered there"
        ),
        Drift("B", "T", 4, 0, "not sent yet (held: SKU not in the catalog)"),
        Drift("B", "U", None, 2, "platform lists units we never sent"),
    ]
    found = drift(intended, rows)
    assert Drift("C", "S", 2, 0, "the platform lists no item of the shop with this SKU") in found
    assert Drift("B", "T", 4, 0, "the platform lists no item of the shop with this SKU") in found


def test_a_cell_held_by_the_threshold_is_not_drift_of_its_own() -> None:
    held = Held("A", "S", 9, 7, "below sync threshold 5 (rule r-sync): +2")
    found = drift({("A", "S"): 9}, [row("S", "A", 7)], [held])
    assert found == [Drift("A", "S", 9, 7, f"not sent yet (held: {held.reason})")]
    # Held, but the platform shows neither number: the hold does not explain it.
    found = drift({("A", "S"): 9}, [row("S", "A", 5)], [held])
    assert found[0].explanation.startswith("platform shows less than sent")
    assert drift({("A", "S"): 7}, [row("S", "A", 7)], [held]) == []


# --- round trip through the sandbox ------------------------------------------------------

SYNC = SyncRule(5, (10,), "r-sync")


def _apply(push: PushPlan, shops: dict[str, Marketplace]) -> None:
    for update in push.updates:
        shops[update.shop].update_stock(update.outer_id, update.stock)


def _read(shops: dict[str, Marketplace]) -> list[ListedRow]:
    return listed_rows(i for shop in shops.values() for i in shop.items())


def _setup(
    root: str, stock: int = 0
) -> tuple[Product, dict[str, Marketplace], dict[str, Any], dict[str, Any]]:
    """A product published with `stock` units of each SKU on a new Tmall and JD shop."""
    product = running_shoe(new_code())
    ids = {"tmall": new_code("shop-"), "jd": new_code("shop-")}
    shops: dict[str, Marketplace] = {}
    for platform, shop_id in ids.items():
        shop = connect_shop(root, platform, shop_id)
        shop.publish(payload_of(product, platform, stock=stock))
        shops[shop_id] = shop
    catalog = sku_products([product])
    shop_brands = {shop_id: ("b1", platform) for platform, shop_id in ids.items()}
    return product, shops, catalog, shop_brands


def test_pushed_stock_reads_back_and_drift_says_what_happened_since(sandbox_root: str) -> None:
    product, shops, catalog, shop_brands = _setup(sandbox_root)
    tm, jd = list(shops)
    s40, s41 = (s.sku_code for s in product.skus)
    cells = [(tm, s40), (tm, s41), (jd, s40), (jd, s41)]
    thresholds = dict.fromkeys(cells, SYNC)

    first = plan_from(
        [(tm, s40, 8, 0, 0), (tm, s41, 3, 0, 0), (jd, s40, 6, 0, 0), (jd, s41, 0, 0, 0)]
    )
    push = stock_updates(first, catalog, shop_brands, {}, thresholds)
    assert push.held == [] and len(push.updates) == 2  # one call per shop: one product each
    _apply(push, shops)
    intended = {(a.shop, a.sku): a.quantity + a.shared for a in first.allocations}
    assert drift(intended, _read(shops)) == []

    last = push.sent()
    second = plan_from(
        [(tm, s40, 9, 0, 0), (tm, s41, 12, 0, 0), (jd, s40, 4, 0, 0), (jd, s41, 0, 0, 0)]
    )
    push = stock_updates(second, catalog, shop_brands, last, thresholds)
    assert {(h.shop, h.sku): h.reason for h in push.held} == {
        (tm, s40): "below sync threshold 5 (rule r-sync): +1",
        (jd, s41): "unchanged",
    }
    _apply(push, shops)
    intended = {(a.shop, a.sku): a.quantity + a.shared for a in second.allocations}
    assert drift(intended, _read(shops), push.held) == [
        Drift(tm, s40, 9, 8, "not sent yet (held: below sync threshold 5 (rule r-sync): +1)")
    ]
    # Against what was sent, the hold is no drift at all.
    sent = {**last, **push.sent()}
    assert drift(sent, _read(shops)) == []

    # Two sold on JD; the item delisted on Tmall (its SKUs list 0 there).
    shops[jd].update_stock(product.spu_code, {s40: 2})
    shops[tm].delist(product.spu_code)
    assert drift(sent, _read(shops)) == [
        Drift(
            tm, s40, 8, 0, "platform shows less than sent: sold since the push, or lowered there"
        ),
        Drift(
            tm, s41, 12, 0, "platform shows less than sent: sold since the push, or lowered there"
        ),
        Drift(
            jd, s40, 4, 2, "platform shows less than sent: sold since the push, or lowered there"
        ),
    ]


def test_a_lost_update_shows_as_more_than_sent() -> None:
    """The sandbox answers every stock update as done and applies none of them."""
    with running_sandbox(SandboxConfig(drop_rate=1.0)) as root:
        product, shops, catalog, shop_brands = _setup(root, stock=6)
        tm, _ = list(shops)
        s40, s41 = (s.sku_code for s in product.skus)
        last = {(tm, s40): 6, (tm, s41): 6}  # what the publish set
        plan = plan_from([(tm, s40, 2, 0, 0), (tm, s41, 6, 0, 0)])
        push = stock_updates(plan, catalog, shop_brands, last, {})
        assert [h.sku for h in push.held] == [s41]  # unchanged
        _apply(push, shops)
        found = drift({**last, **push.sent()}, _read(shops), shops={tm})
    assert found == [
        Drift(
            tm,
            s40,
            2,
            6,
            "platform shows more than sent: an update was lost, or it was raised there",
        )
    ]
