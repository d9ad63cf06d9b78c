"""A snapshot file read by msgspec straight into typed rows: the fast way in.

orjson builds a dict per row (2.3 million at 300,000 SKUs) that engine/core/columns.py
then checks field by field; msgspec decodes each row into a struct whose types and
bounds (strict ints, non-empty ids, units and velocities within engine/core/limits.py,
no unknown field) are checked in C while the text is read. What is left is what
columns.py checks across rows (ids unique and known, brands, bundles, prices as money).

This path only ever accepts a document that `columns_of_document` accepts, with the
same columns and input hash (tests/core/test_typed_rows.py checks both on random and
broken documents). Anything it refuses or cannot vouch for - an escape in the text, a
history section, a colon in an id, a key given twice, any type or bound - returns None
and the file is read the way it always was, so every error message stays the same.
"""

from __future__ import annotations

from functools import partial
from itertools import compress
from operator import attrgetter
from typing import Annotated, Any

import msgspec
import numpy as np
import orjson
from msgspec import UNSET, Meta, Raw, Struct, UnsetType

from engine.core.columns import (
    BUCKETS,
    Dumped,
    SnapshotColumns,
    _codes,
    _ints,
    _positions,
    _prices,
    _Refused,
    _require,
    _triples,
    _unique,
)
from engine.core.limits import MAX_BUNDLE_QTY, MAX_UNITS, MAX_VELOCITY
from engine.core.shop_rows_aside import ShopArrays, shop_rows_aside
from engine.core.snapshot import Snapshot

Id = Annotated[str, Meta(min_length=1)]
Units = Annotated[int, Meta(ge=0, le=MAX_UNITS)]
Velocity = Annotated[float, Meta(ge=0, le=MAX_VELOCITY)]


class _Row(Struct, forbid_unknown_fields=True, gc=False):
    """A row of a row section; gc=False: rows hold no cycles, so the cyclic collector
    need not track millions of them. Fields in sorted order: the input hash writes
    rows with sorted keys, which msgspec then writes in field order, not sorting the
    fields of every row again (`columns.canonical_bytes`)."""


class ComponentRow(_Row, kw_only=True):
    qty: Annotated[int, Meta(ge=1, le=MAX_BUNDLE_QTY)]
    sku: Id


class SkuRow(_Row, kw_only=True):
    """A SKU row as given: UNSET where a field is left out (to count the keys given)."""

    brand: Id
    category: str | UnsetType = UNSET
    components: list[ComponentRow] | UnsetType = UNSET
    id: Id
    price: int | str  # money: checked by columns._prices as the model checks it
    tags: list[str] | UnsetType = UNSET


class FullSkuRow(_Row, kw_only=True):
    """A SKU row as the model writes it: every field, defaults filled in."""

    brand: Id
    category: str = ""
    components: list[ComponentRow] = []
    id: Id
    price: int | str
    tags: list[str] = []


class StockRow(_Row, kw_only=True):
    defective: Units | UnsetType = UNSET
    in_transit: Units | UnsetType = UNSET
    locked: Units | UnsetType = UNSET
    on_hand: Units
    pending_review: Units | UnsetType = UNSET
    purchase_in_transit: Units | UnsetType = UNSET
    reserved: Units | UnsetType = UNSET
    sku: Id
    transfer_in_transit: Units | UnsetType = UNSET
    unpaid: Units | UnsetType = UNSET
    warehouse: Id


class FullStockRow(_Row, kw_only=True):
    defective: Units = 0
    in_transit: Units = 0
    locked: Units = 0
    on_hand: Units
    pending_review: Units = 0
    purchase_in_transit: Units = 0
    reserved: Units = 0
    sku: Id
    transfer_in_transit: Units = 0
    unpaid: Units = 0
    warehouse: Id


class VelocityRow(_Row, kw_only=True):
    shop: Id
    sku: Id
    units_per_day: Velocity


class ListedRow(_Row, kw_only=True):
    quantity: Units
    shop: Id
    sku: Id


class _Document(Struct, forbid_unknown_fields=True, gc=False):
    """The snapshot's sections. The head's (few) are plain data for the model to check;
    SKUs and stock stay raw text until read, as each may be read twice (`_full`)."""

    skus: Raw
    stock: Raw
    tenant: Any = UNSET
    as_of: Any = UNSET
    mode: Any = UNSET
    brands: Any = UNSET
    warehouses: Any = UNSET
    shops: Any = UNSET
    velocity: Raw | UnsetType = UNSET  # read by `_shop_sections`, maybe in a child
    listed: Raw | UnsetType = UNSET
    history: Any = UNSET


HEAD_FIELDS = ("tenant", "as_of", "mode", "brands", "warehouses", "shops")
ROW_FIELDS = ("skus", "stock", "velocity", "listed", "history")
_SKU_OPTIONAL = ("category", "tags", "components")
_DOCUMENT = msgspec.json.Decoder(_Document)
_SKUS = msgspec.json.Decoder(list[SkuRow])
_FULL_SKUS = msgspec.json.Decoder(list[FullSkuRow])
_STOCK = msgspec.json.Decoder(list[StockRow])
_FULL_STOCK = msgspec.json.Decoder(list[FullStockRow])
_VELOCITY = msgspec.json.Decoder(list[VelocityRow])
_LISTED = msgspec.json.Decoder(list[ListedRow])
# Velocity and listed sections shorter than this (~60,000 rows) are read in the
# process: a fork and a pipe cost more than they would save (a few ms against ~0.7 us
# a row).
FORK_BYTES = 4_000_000
NO_FORK = 1 << 62  # as `fork_bytes`: no section is that long, all read in the process


def read_typed_columns(text: bytes, fork_bytes: int = FORK_BYTES) -> SnapshotColumns | None:
    """The columns of a snapshot file's text (no byte-order mark), or None where this
    path cannot vouch for the document (the caller then reads it as before). With
    `fork_bytes` of velocity and listed rows or more, those are read by a forked child."""
    # An escape could hide a colon (the repeated-key proof below counts them) or spell
    # what the text does not show: such files are read the other way.
    if b"\\" in text:
        return None
    try:
        document = _DOCUMENT.decode(text)
        columns, colons = _columns(document, fork_bytes)
    except (msgspec.MsgspecError, _Refused):
        return None
    # msgspec, like orjson, keeps the last of a key given twice: the text then holds one
    # colon more than the pairs read (strings hold none but the head's, counted).
    return columns if text.count(b":") == colons else None


def _given(rows: list[Any], fields: tuple[str, ...]) -> int:
    """How many values of these fields the rows give in all (UNSET: left out)."""
    return sum(len(rows) - list(map(attrgetter(f), rows)).count(UNSET) for f in fields)


def _columns(document: _Document, fork_bytes: int) -> tuple[SnapshotColumns, int]:
    """The columns and the count of the colons orjson would write for the document."""
    _require(document.history is UNSET or document.history == [])
    head_data = {k: v for k in HEAD_FIELDS if (v := getattr(document, k)) is not UNSET}
    try:
        head = Snapshot.model_validate(head_data | {"skus": [], "stock": []})
        colons = orjson.dumps(head_data).count(b":")
    except Exception:  # noqa: BLE001 - any fault: the model reads the whole document
        raise _Refused from None
    colons += sum(getattr(document, k) is not UNSET for k in ROW_FIELDS)
    brand_pos = _positions([b.id for b in head.brands])
    shop_pos = _positions([s.id for s in head.shops])
    wh_pos = _positions([w.id for w in head.warehouses])

    # Velocity and listed rows on the other core (when many) while SKUs and stock are
    # read here; the child finds the SKU ids and brands itself, the parent's run (when
    # there is no child or it fails) those the parent found.
    shop_brand = _ints([brand_pos[s.brand] for s in head.shops])
    raw = [document.velocity or b"[]", document.listed or b"[]"]
    sku_keys: list[Any] = []  # the parent's (positions, brand codes) once it has them

    def shop_sections() -> ShopArrays:
        sku_pos, sku_brand = sku_keys or _sku_keys(document.skus, brand_pos)
        return _shop_sections(raw, sku_pos, shop_pos, sku_brand, shop_brand)

    shop_rows = shop_rows_aside(shop_sections, forked=sum(map(len, raw)) >= fork_bytes)
    try:
        # Each section read as given (to count the keys given: see the colons), then with
        # the defaults in where a row leaves a field out (the rows the model writes).
        skus: list[Any] = _SKUS.decode(document.skus)
        given = 3 * len(skus) + _given(skus, _SKU_OPTIONAL)  # id, brand, price, optional
        colons += given
        if given < 6 * len(skus):
            skus = _FULL_SKUS.decode(document.skus)
        sku_ids: list[str] = list(map(attrgetter("id"), skus))
        sku_pos = _positions(sku_ids)
        sku_brand = _codes(list(map(attrgetter("brand"), skus)), brand_pos)
        categories: list[str] = list(map(attrgetter("category"), skus))
        tags: list[list[str]] = list(map(attrgetter("tags"), skus))
        components: list[list[ComponentRow]] = list(map(attrgetter("components"), skus))
        prices = list(map(attrgetter("price"), skus))
        price_text, price_cents = _distinct_prices(prices)
        bundle_rows = _bundles(sku_ids, sku_pos, components)
        # Colons inside strings would have to be counted: ids (which the rows' references
        # repeat), categories and tags; rare, so such a document is read the other way.
        texts = (sku_ids, categories, [t for ts in tags if ts for t in ts])
        _require(not any(":" in "".join(strings) for strings in texts))
        colons += 2 * len(bundle_rows[0])

        sku_keys[:] = [sku_pos, sku_brand]
        stock, units, stock_at, stock_colons = _stock(document.stock, sku_pos, wh_pos)
    except BaseException:
        shop_rows.abandon()  # the document is refused: the child's work is not wanted
        raise
    colons += stock_colons
    velocity, listed, shop_colons = shop_rows.result()
    colons += shop_colons

    # velocity and listed: their rows made from the arrays when the hash needs them
    dumped: dict[str, Dumped] = {
        "skus": skus if price_text == prices else _with_prices(skus, price_text),
        "stock": stock,
    }
    columns = SnapshotColumns(
        head=head,
        sku_ids=sku_ids,
        sku_brand=sku_brand,
        sku_category=categories,
        sku_tags=tags,
        price_cents=price_cents,
        bundle_rows=bundle_rows,
        stock_at=stock_at,
        stock=units,
        velocity=velocity,
        listed=listed,
        dumped=dumped,
    )
    return columns, colons


def _stock(
    text: Raw, sku_pos: dict[str, int], wh_pos: dict[str, int]
) -> tuple[Dumped, dict[str, Any], tuple[Any, Any], int]:
    """The stock rows (as the model writes them, or what decodes them when asked),
    buckets and (SKU, warehouse) codes, and the colons the section holds."""
    stock: list[Any] = _STOCK.decode(text)
    colons = 2 * len(stock)  # sku, warehouse; on_hand is a bucket
    units: dict[str, Any] = {}
    every_given = True
    for bucket in BUCKETS:
        values = list(map(attrgetter(bucket), stock))
        missing = values.count(UNSET)
        colons += len(stock) - missing
        every_given &= missing == 0
        if missing == 0:
            units[bucket] = _ints(values)
        elif missing == len(stock):
            units[bucket] = np.zeros(len(stock), np.int64)
        else:  # a bucket left out is 0
            units[bucket] = _ints([0 if v is UNSET else v for v in values])
    stock_at = (
        _codes(list(map(attrgetter("sku"), stock)), sku_pos),
        _codes(list(map(attrgetter("warehouse"), stock)), wh_pos),
    )
    _require(_unique(*stock_at, len(wh_pos)))
    if every_given:
        return stock, units, stock_at, colons
    # Rows leave buckets out: the input hash wants the rows with their zeros, decoded
    # again only when it is written (by `omnistock plan`'s child process,
    # engine/cli/digest_aside.py: 0.15 s of the read at 300,000 SKUs).
    return partial(_FULL_STOCK.decode, bytes(text)), units, stock_at, colons


def _distinct_prices(prices: list[int | str]) -> tuple[list[str], Any]:
    """`columns._prices` of each price, worked out once per distinct price (a few
    hundred in a catalog of 300,000 SKUs). The struct holds no bool, so a dict keyed by
    the prices themselves tells them apart."""
    distinct = list(set(prices))
    texts, cents = _prices(distinct)
    text_of, cents_of = (
        dict(zip(distinct, texts, strict=True)),
        dict(zip(distinct, cents.tolist(), strict=True)),
    )
    return list(map(text_of.__getitem__, prices)), _ints(list(map(cents_of.__getitem__, prices)))


def _with_prices(rows: list[Any], price_text: list[str]) -> list[Any]:
    """The SKU rows with their prices as the model writes them (fixed-point text)."""
    rows = rows.copy()
    for i, (row, text) in enumerate(zip(rows, price_text, strict=True)):
        if row.price != text:
            rows[i] = msgspec.structs.replace(row, price=text)
    return rows


class _SkuKey(Struct, gc=False):
    """What the velocity and listed rows need of a SKU row (the rest is skipped; the
    parent checks the whole row, and refuses the document if it is not valid)."""

    id: str
    brand: str


_SKU_KEYS = msgspec.json.Decoder(list[_SkuKey])


def _sku_keys(text: Raw, brand_pos: dict[str, int]) -> tuple[dict[str, int], Any]:
    """The SKU ids' positions and the SKUs' brand codes (for `_shop_sections`)."""
    keys = _SKU_KEYS.decode(text)
    sku_pos = _positions(list(map(attrgetter("id"), keys)))
    return sku_pos, _codes(list(map(attrgetter("brand"), keys)), brand_pos)


def _shop_sections(
    raw: list[Any],
    sku_pos: dict[str, int],
    shop_pos: dict[str, int],
    sku_brand: Any,
    shop_brand: Any,
) -> ShopArrays:
    """The velocity and listed sections' arrays, their rows checked across (ids known,
    a (SKU, shop) pair once, the shop's brand the SKU's), and the colons they hold."""
    velocity: list[VelocityRow] = _VELOCITY.decode(raw[0])
    listed: list[ListedRow] = _LISTED.decode(raw[1])
    v_sku, v_shop = _shop_codes(velocity, sku_pos, shop_pos)
    l_sku, l_shop = _shop_codes(listed, sku_pos, shop_pos)
    for sku, shop in ((v_sku, v_shop), (l_sku, l_shop)):
        _require(_unique(sku, shop, len(shop_pos)))
        _require(bool(np.all(sku_brand[sku] == shop_brand[shop])))
    rates = np.fromiter(map(attrgetter("units_per_day"), velocity), np.float64, len(velocity))
    quantities = _ints(list(map(attrgetter("quantity"), listed)))
    colons = 3 * (len(velocity) + len(listed))
    return (v_sku, v_shop, rates), (l_sku, l_shop, quantities), colons


def _shop_codes(
    rows: list[VelocityRow] | list[ListedRow], sku_pos: dict[str, int], shop_pos: dict[str, int]
) -> tuple[Any, Any]:
    return (
        _codes(list(map(attrgetter("sku"), rows)), sku_pos),
        _codes(list(map(attrgetter("shop"), rows)), shop_pos),
    )


def _bundles(
    sku_ids: list[str], sku_pos: dict[str, int], components: list[list[ComponentRow]]
) -> tuple[Any, Any, Any]:
    """(bundle, component, qty) as SKU codes; quantities are bounded by the struct."""
    rows: list[tuple[int, int, int]] = []
    # Most SKUs are no bundle: only the non-empty lists are looked into.
    for i in compress(range(len(components)), components):
        comps = components[i]
        seen: set[str] = set()
        for c in comps:
            _require(c.sku in sku_pos and c.sku != sku_ids[i] and c.sku not in seen)
            seen.add(c.sku)
            rows.append((i, sku_pos[c.sku], c.qty))
    bundle, component, qty = _triples(rows)
    is_bundle = np.zeros(len(sku_ids), dtype=bool)
    is_bundle[bundle] = True
    _require(not bool(np.any(is_bundle[component])))  # bundles are one level deep
    return bundle, component, qty
