"""The index lays its cells out as every SKU with every shop of its brand, ordered by SKU
then shop rank (priority, then id), without sorting them: checked against the sort on
random brands, shops and priorities; the per-cell velocity and listed arrays against
the rows they come from."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core.columns import BUCKETS
from engine.core.index import SnapshotIndex
from engine.core.io import parse_snapshot_columns
from engine.demo import build_demo


def _sorted_cells(
    sku_brand: np.ndarray, shop_brand: np.ndarray, rank: np.ndarray
) -> tuple[list[int], list[int]]:
    pairs = [
        (s, h)
        for s in range(sku_brand.size)
        for h in range(shop_brand.size)
        if sku_brand[s] == shop_brand[h]
    ]
    pairs.sort(key=lambda p: (p[0], rank[p[1]]))
    return [p[0] for p in pairs], [p[1] for p in pairs]


@settings(max_examples=100, deadline=None)
@given(
    data=st.data(), n_brands=st.integers(1, 4), n_shops=st.integers(0, 6), n_skus=st.integers(0, 12)
)
def test_cells_are_skus_by_shop_rank(
    data: st.DataObject, n_brands: int, n_shops: int, n_skus: int
) -> None:
    codes = st.integers(0, n_brands - 1)
    sku_brand = np.array(
        data.draw(st.lists(codes, min_size=n_skus, max_size=n_skus)), dtype=np.int64
    )
    shop_brand = np.array(
        data.draw(st.lists(codes, min_size=n_shops, max_size=n_shops)), dtype=np.int64
    )
    priority = np.array(
        data.draw(st.lists(st.integers(0, 2), min_size=n_shops, max_size=n_shops)), dtype=np.int64
    )
    shop_ids = data.draw(
        st.lists(
            st.text("abc", min_size=1, max_size=3), min_size=n_shops, max_size=n_shops, unique=True
        )
    )
    empty = np.zeros(0, dtype=np.int64)
    index = SnapshotIndex.from_arrays(
        as_of=None,  # type: ignore[arg-type]
        sku_ids=[f"s{i}" for i in range(n_skus)],
        sku_brand=sku_brand,
        sku_category=np.zeros(n_skus, dtype=np.int64),
        categories=[""],
        sku_tags={},
        price_cents=np.zeros(n_skus, dtype=np.int64),
        brands=[f"b{k}" for k in range(n_brands)],
        shop_ids=shop_ids,
        shop_brand=shop_brand,
        shop_platform=["x"] * n_shops,
        shop_priority=priority,
        wh_ids=["w"],
        wh_kind=["sellable"],
        shop_wh=np.ones((n_shops, 1), dtype=bool),
        stock={b: np.zeros((n_skus, 1), dtype=np.int64) for b in BUCKETS},
        velocity=(empty, empty, np.zeros(0)),
        listed=(empty, empty, empty),
        bundle_rows=(empty, empty, empty),
    )
    skus, shops = _sorted_cells(sku_brand, shop_brand, index.shop_rank)
    assert index.cell_sku.tolist() == skus
    assert index.cell_shop.tolist() == shops
    by_id = sorted(range(n_shops), key=lambda h: (priority[h], shop_ids[h]))
    assert [int(index.shop_rank[h]) for h in by_id] == list(range(n_shops))


def test_velocity_and_listed_land_on_their_cells() -> None:
    columns = parse_snapshot_columns(build_demo(seed=5, skus=300)[0])
    index = SnapshotIndex.of_columns(columns)
    for (sku, shop, values), per_cell, was_given in [
        (columns.velocity, index.velocity, index.velocity_given),
        (columns.listed, index.listed, index.listed_given),
    ]:
        cells = {
            (int(s), int(h)): c
            for c, (s, h) in enumerate(zip(index.cell_sku, index.cell_shop, strict=True))
        }
        expected = np.zeros(index.n_cells)
        for s, h, v in zip(sku, shop, values, strict=True):
            expected[cells[(int(s), int(h))]] = v
        np.testing.assert_array_equal(per_cell, expected)
        assert was_given.sum() == len(sku)
