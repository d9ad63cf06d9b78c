"""The snapshot read as columns: the planner's way in for big snapshots.

A `Snapshot` model holds a Python object per stock, velocity and listed row; at
50,000 SKUs that is 330,000 objects, built only to be turned into arrays by
`SnapshotIndex` (and a sales history adds one per row and day: millions). Here the rows
of a parsed document are checked with plain type checks and arrays instead, and kept as
arrays (the history's by engine/core/history_columns.py). The checks only accept what
the model accepts, with the same values: whatever they refuse (or are unsure of) goes to
the model, which accepts it or names every fault, so the errors stay the model's, word
for word.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import chain, compress, repeat
from operator import itemgetter
from typing import Any

import msgspec
import numpy as np
import orjson
from numpy.typing import NDArray
from pydantic import BaseModel

from engine.core.history_columns import HISTORY_KEYS, HistoryRows, read_history
from engine.core.limits import MAX_BUNDLE_QTY, MAX_MONEY, MAX_UNITS, MAX_VELOCITY
from engine.core.modes import Mode
from engine.core.snapshot import _MONEY, Snapshot, StockRow

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]

BUCKETS = tuple(name for name in StockRow.model_fields if name not in ("sku", "warehouse"))
_STOCK_KEYS = frozenset(StockRow.model_fields)
_SKU_KEYS = frozenset(("id", "brand", "category", "tags", "price", "components"))
_ROW_SECTIONS = ("skus", "stock", "velocity", "listed", "history")
# orjson writes floats below 1e-4 or from 1e16 on in other notation than the standard
# encoder (0.00001 for 1e-05): velocities in between hash through orjson, others not.
_ORJSON_FLOATS = (1e-4, 1e16)


# A row section as the model writes it, or what makes it (rows decoded when asked for).
Dumped = list[Any] | Callable[[], list[Any]]


@dataclass
class SnapshotColumns:
    """A field-valid, cross-referenced snapshot, its big sections as arrays. `head` is
    the model of everything but the row sections (their lists left empty); `dumped`
    holds each row section as `Snapshot.model_dump(mode="json")` would write it (for
    the input hash) when the columns were read from a document."""

    head: Snapshot
    sku_ids: list[str]
    sku_brand: I64  # code into head.brands
    sku_category: list[str]
    sku_tags: list[list[str]]  # read only: SKUs without tags may share one list
    price_cents: I64
    bundle_rows: tuple[I64, I64, I64]  # (bundle, component, qty) as SKU codes
    stock_at: tuple[I64, I64]  # (SKU code, warehouse code) per row
    stock: dict[str, I64]  # bucket -> per row
    velocity: tuple[I64, I64, F64]  # (SKU code, shop code, units per day)
    listed: tuple[I64, I64, I64]  # (SKU code, shop code, quantity)
    history: HistoryRows | None = None  # the sales history, if the snapshot has one
    # rows as dicts or as msgspec structs (engine/core/typed_rows.py: written alike), or
    # what makes them when first asked for
    dumped: dict[str, Dumped] | None = None
    model: Snapshot | None = None  # the model the columns were built from, if any

    @property
    def as_of(self) -> datetime:
        return self.head.as_of

    @property
    def mode(self) -> Mode:
        return self.head.mode

    @classmethod
    def of_snapshot(cls, snap: Snapshot) -> SnapshotColumns:
        """From a validated model (its ids already checked), which is kept: the input
        hash is written from it when asked for."""
        sku_pos = {s.id: i for i, s in enumerate(snap.skus)}
        shop_pos = {s.id: i for i, s in enumerate(snap.shops)}
        wh_pos = {w.id: i for i, w in enumerate(snap.warehouses)}
        brand_pos = {b.id: i for i, b in enumerate(snap.brands)}
        bundles = [(sku_pos[s.id], sku_pos[c.sku], c.qty) for s in snap.skus for c in s.components]
        return cls(
            head=_head_of(snap),
            sku_ids=list(sku_pos),
            sku_brand=_ints([brand_pos[s.brand] for s in snap.skus]),
            sku_category=[s.category for s in snap.skus],
            sku_tags=[s.tags for s in snap.skus],
            price_cents=_ints([int(s.price * 100) for s in snap.skus]),
            bundle_rows=_triples(bundles),
            stock_at=(
                _ints([sku_pos[r.sku] for r in snap.stock]),
                _ints([wh_pos[r.warehouse] for r in snap.stock]),
            ),
            stock={b: _ints([getattr(r, b) for r in snap.stock]) for b in BUCKETS},
            velocity=(
                _ints([sku_pos[r.sku] for r in snap.velocity]),
                _ints([shop_pos[r.shop] for r in snap.velocity]),
                np.array([r.units_per_day for r in snap.velocity], dtype=np.float64),
            ),
            listed=(
                _ints([sku_pos[r.sku] for r in snap.listed]),
                _ints([shop_pos[r.shop] for r in snap.listed]),
                _ints([r.quantity for r in snap.listed]),
            ),
            history=HistoryRows.of_rows(snap.history, sku_pos, shop_pos, snap.as_of.date())
            if snap.history
            else None,
            model=snap,
        )

    def snapshot(self) -> Snapshot:
        """The model of the same snapshot, for callers that want rows as objects."""
        if self.dumped is None:
            raise ValueError("columns built from a model: use that model")
        data = self.head.model_dump(mode="json") | _plain(_dumped(self))
        return Snapshot.model_validate(data)


def _ints(values: list[int]) -> I64:
    # fromiter: a third faster than np.array, which first works out the list's shape.
    return np.fromiter(values, dtype=np.int64, count=len(values))


def _triples(rows: list[tuple[int, int, int]]) -> tuple[I64, I64, I64]:
    arr = np.array(rows, dtype=np.int64).reshape(-1, 3)
    return arr[:, 0].copy(), arr[:, 1].copy(), arr[:, 2].copy()


def _head_of(snap: Snapshot) -> Snapshot:
    return snap.model_copy(update={section: [] for section in _ROW_SECTIONS})


class _Refused(Exception):
    """A check did not pass: the model reads the document instead (and names why)."""


def _require(ok: bool) -> None:
    if not ok:
        raise _Refused


def columns_of_document(data: Any) -> SnapshotColumns | None:
    """The columns of a parsed snapshot document, or None where any check fails (or
    cannot tell): the caller then reads it with the model, which reports the faults."""
    try:
        return _read(data)
    except _Refused:
        return None


def _read(data: Any) -> SnapshotColumns:
    # Every pass over the rows is a map() of a C function (dict.get, itemgetter, type,
    # set methods) rather than a Python expression per row: the same checks, a few
    # times faster on hundreds of thousands of rows.
    _require(type(data) is dict)
    _require(all(type(data.get(s, [])) is list for s in _ROW_SECTIONS))
    head_data = {k: v for k, v in data.items() if k not in _ROW_SECTIONS}
    # The few head rows go through the model; its cross-reference checks see no SKUs.
    try:
        head = Snapshot.model_validate(head_data | {"skus": [], "stock": []})
    except Exception:  # noqa: BLE001 - any fault: the model reads the whole document
        raise _Refused from None
    _require("skus" in data and "stock" in data)
    brand_pos = _positions([b.id for b in head.brands])
    shop_pos = _positions([s.id for s in head.shops])
    wh_pos = _positions([w.id for w in head.warehouses])
    skus: list[Any] = data["skus"]
    sku_keys = _keys(skus)
    _require(sku_keys <= _SKU_KEYS)
    sku_ids = _ids(_field(skus, "id"))
    sku_pos = _positions(sku_ids)
    sku_brand = _codes(_field(skus, "brand"), brand_pos)
    categories = _field(skus, "category", "", sku_keys)
    _require(_only(categories, str))
    tags = _field(skus, "tags", [], sku_keys)
    _require(_only(tags, list) and _only(chain.from_iterable(tags), str))
    price_text, price_cents = _prices(_field(skus, "price"))
    components = _field(skus, "components", [], sku_keys)
    bundle_rows = _bundles(sku_ids, sku_pos, components)

    stock_rows: list[Any] = data["stock"]
    stock_keys = _keys(stock_rows)
    _require(stock_keys <= _STOCK_KEYS)
    stock_at = (
        _codes(_field(stock_rows, "sku"), sku_pos),
        _codes(_field(stock_rows, "warehouse"), wh_pos),
    )
    _require(_unique(*stock_at, len(wh_pos)))
    _require(all(map(dict.__contains__, stock_rows, repeat("on_hand"))))
    stock = {b: _units(_field(stock_rows, b, 0, stock_keys)) for b in BUCKETS}

    shop_brand = _ints([brand_pos[s.brand] for s in head.shops])
    velocity_rows = data.get("velocity", [])
    v_sku, v_shop, speeds = _shop_rows(velocity_rows, "units_per_day", sku_pos, shop_pos)
    speed_kinds = set(map(type, speeds))
    _require(speed_kinds <= {float, int})
    v_rate = np.array(speeds, dtype=np.float64)
    _require(bool(np.all((v_rate >= 0) & (v_rate <= MAX_VELOCITY))))
    listed_rows = data.get("listed", [])
    l_sku, l_shop, quantities = _shop_rows(listed_rows, "quantity", sku_pos, shop_pos)
    l_units = _units(quantities)
    history_rows = data.get("history", [])
    _require(_keys(history_rows) <= HISTORY_KEYS)
    h_sku = _codes(_field(history_rows, "sku"), sku_pos)
    h_shop = _codes(_field(history_rows, "shop"), shop_pos)
    for sku, shop in ((v_sku, v_shop), (l_sku, l_shop), (h_sku, h_shop)):
        _require(_unique(sku, shop, len(shop_pos)))
        _require(bool(np.all(sku_brand[sku] == shop_brand[shop])))
    # The model writes no history section where there is none (the input hash of such
    # a snapshot stays what it was before the section existed).
    history, dumped_history = None, {}
    if history_rows:
        read = read_history(history_rows, h_sku, h_shop, head.as_of.date())
        if read is None:
            raise _Refused
        history, dumped_history = read[0], {"history": read[1]}

    # Each row section as the model writes it, for the input hash (written with sorted
    # keys, so key order is free): a document's own rows where they already are that
    # (every field given, prices in fixed point, velocities as floats), else rebuilt.
    complete_skus = all(map(len(_SKU_KEYS).__eq__, map(len, skus)))
    dumped = {
        "skus": skus
        if complete_skus and price_text == _field(skus, "price")
        else [
            {
                "id": sku_id,
                "brand": s["brand"],
                "category": category,
                "tags": tag_list,
                "price": price,
                "components": [{"sku": c["sku"], "qty": c["qty"]} for c in comps],
            }
            for sku_id, s, category, tag_list, price, comps in zip(
                sku_ids, skus, categories, tags, price_text, components, strict=True
            )
        ],
        "stock": stock_rows
        if all(map(len(_STOCK_KEYS).__eq__, map(len, stock_rows)))
        else list(map(_STOCK_DEFAULTS.__or__, stock_rows)),
        "velocity": velocity_rows
        if speed_kinds <= {float}
        else [
            {"sku": r["sku"], "shop": r["shop"], "units_per_day": float(v)}
            for r, v in zip(velocity_rows, speeds, strict=True)
        ],
        "listed": listed_rows,
    } | dumped_history
    return SnapshotColumns(
        head=head,
        sku_ids=sku_ids,
        sku_brand=sku_brand,
        sku_category=categories,
        sku_tags=tags,
        price_cents=price_cents,
        bundle_rows=bundle_rows,
        stock_at=stock_at,
        stock=stock,
        velocity=(v_sku, v_shop, v_rate),
        listed=(l_sku, l_shop, l_units),
        history=history,
        dumped=dumped,
    )


_STOCK_DEFAULTS: dict[str, Any] = {b: 0 for b in BUCKETS}


def document_colons(data: dict[str, Any], columns: SnapshotColumns) -> int | None:
    """The colons of orjson's writing of a snapshot document the quick checks accepted
    (`columns` are its columns), counted without writing it: one per key and value pair
    (the rows' pairs are their lengths: their keys are the known field names) plus the
    colons inside strings. None where a string of the rows holds a colon: ids, which
    the rows' references repeat, categories or tags (then count them by writing it).

    A text with as many colons, none escaped, repeats no key: orjson keeps the last of
    repeated keys, so each repeat would leave one colon more in the text."""
    head = {k: v for k, v in data.items() if k not in _ROW_SECTIONS}
    heads = columns.head
    ids = chain(
        columns.sku_ids,
        columns.sku_category,
        chain.from_iterable(columns.sku_tags),
        (b.id for b in heads.brands),
        (s.id for s in heads.shops),
        (w.id for w in heads.warehouses),
    )
    if ":" in "".join(ids):
        return None
    skus, stock = data["skus"], data["stock"]
    return (
        orjson.dumps(head).count(b":")
        + sum(section in data for section in _ROW_SECTIONS)
        + sum(map(len, skus))
        + 2 * len(columns.bundle_rows[0])  # each component is {"sku", "qty"}
        + sum(map(len, stock))
        + 3 * len(data.get("velocity", []))  # exactly {"sku", "shop", value}
        + 3 * len(data.get("listed", []))
        + sum(map(len, data.get("history", [])))  # dates and numbers hold no colon
    )


def _only(values: Iterable[Any], *kinds: type) -> bool:
    """Every value of exactly these types (type(), not isinstance(): a bool is an int
    to Python, not to the model)."""
    return set(map(type, values)) <= set(kinds)


def _dicts(rows: list[Any]) -> bool:
    return _only(rows, dict)


def _keys(rows: list[Any]) -> set[str]:
    """The keys found in any of these rows, which must all be dicts."""
    _require(_dicts(rows))
    return set(chain.from_iterable(rows))


def _field(
    rows: list[dict[str, Any]], key: str, default: Any = None, keys: set[str] | None = None
) -> list[Any]:
    """Each row's value of `key` (`default` where it has none: one object for all, to
    be read only). `keys`: those of any row (`_keys`), if known; a key in none of them
    costs no pass over the rows."""
    if keys is not None and key not in keys:
        return [default] * len(rows)
    return list(map(dict.get, rows, repeat(key), repeat(default)))


def _positions(ids: list[str]) -> dict[str, int]:
    pos = dict(zip(ids, range(len(ids)), strict=True))
    _require(len(pos) == len(ids))  # a repeated id
    return pos


def _ids(values: list[Any]) -> list[str]:
    """Non-empty strings, as the model's `Id` (a missing field is None here)."""
    _require(_only(values, str) and "" not in values)
    return values


def _codes(values: list[Any], pos: Mapping[str, int]) -> I64:
    """The position in `pos` of each value. Its keys are checked ids, so a value found
    there is one too: anything else (a missing field, a number, an unknown id, a list)
    refuses the document, with no check of its own."""
    try:
        return _ints(list(map(pos.__getitem__, values)))
    except (KeyError, TypeError):
        raise _Refused from None


def _unique(first: I64, second: I64, n_second: int) -> bool:
    keys = np.sort(first * max(n_second, 1) + second)
    return not bool(np.any(keys[1:] == keys[:-1]))


def _units(values: list[Any]) -> I64:
    _require(_only(values, int))
    try:
        arr = _ints(values)
    except OverflowError:
        raise _Refused from None
    _require(bool(np.all((arr >= 0) & (arr <= MAX_UNITS))))
    return arr


def _shop_rows(
    rows: list[Any], value: str, sku_pos: Mapping[str, int], shop_pos: Mapping[str, int]
) -> tuple[I64, I64, list[Any]]:
    """The SKU and shop codes of rows of exactly {"sku", "shop", value}, and the values."""
    # Three keys, each of them found: exactly those (cheaper than comparing key sets).
    _require(_dicts(rows) and all(map((3).__eq__, map(len, rows))))
    try:
        skus, shops, values = (list(map(itemgetter(k), rows)) for k in ("sku", "shop", value))
    except KeyError:
        raise _Refused from None
    return _codes(skus, sku_pos), _codes(shops, shop_pos), values


def _prices(values: list[Any]) -> tuple[list[str], I64]:
    """Each price as the model writes it (fixed-point text) and in whole fen."""
    # Typed keys: True == 1 to a dict, but the model refuses a bool for money.
    _require(_only(values, int, str))
    keys = list(zip(map(type, values), values, strict=True))
    text: dict[tuple[type, Any], str] = {}
    cents: dict[tuple[type, Any], int] = {}
    for key in set(keys):
        kind, value = key
        whole = kind is int and value >= 0
        _require(whole or kind is str and _MONEY.fullmatch(value) is not None)
        money = Decimal(value)
        _require(money <= MAX_MONEY)
        text[key], cents[key] = format(money, "f"), int(money * 100)
    return list(map(text.__getitem__, keys)), _ints(list(map(cents.__getitem__, keys)))


def _bundles(
    sku_ids: list[str], sku_pos: Mapping[str, int], components: list[Any]
) -> tuple[I64, I64, I64]:
    rows: list[tuple[int, int, int]] = []
    _require(_only(components, list))
    # Most SKUs are no bundle: only the non-empty lists are looked into.
    for i in compress(range(len(components)), components):
        comps = components[i]
        seen: set[str] = set()
        for c in comps:
            _require(type(c) is dict and c.keys() == {"sku", "qty"})
            sku, qty = c["sku"], c["qty"]
            _require(type(sku) is str and sku in sku_pos and sku != sku_ids[i])
            _require(type(qty) is int and 1 <= qty <= MAX_BUNDLE_QTY and sku not in seen)
            seen.add(sku)
            rows.append((i, sku_pos[sku], qty))
    bundle, component, qty = _triples(rows)
    is_bundle = np.zeros(len(sku_ids), dtype=bool)
    is_bundle[bundle] = True
    _require(not bool(np.any(is_bundle[component])))  # bundles are one level deep
    return bundle, component, qty


def snapshot_json(columns: SnapshotColumns) -> bytes:
    """`canonical_json(snapshot.model_dump(mode="json"))` of the snapshot, encoded."""
    if columns.dumped is None:
        if columns.model is None:
            raise ValueError("columns with neither their rows nor their model")
        return canonical_bytes(columns.model.model_dump(mode="json"), fast=False)
    dumped = _dumped(columns)
    doc = columns.head.model_dump(mode="json") | dumped
    if orjson_floats(columns.velocity[2]):
        return canonical_bytes(doc, fast=True)
    return canonical_bytes(doc | _plain(dumped), fast=False)


def _dumped(columns: SnapshotColumns) -> dict[str, list[Any]]:
    """`columns.dumped` with the velocity and listed rows made from their arrays where
    the reader left them out (engine/core/typed_rows.py reads those straight into
    arrays, maybe in another process): the same values, written as the model's rows."""
    assert columns.dumped is not None
    dumped = {k: rows() if callable(rows) else rows for k, rows in columns.dumped.items()}
    shops = np.array([s.id for s in columns.head.shops] or [""], dtype=object)
    skus = np.array(columns.sku_ids or [""], dtype=object)
    # Made in C by map over three lists: a third of the time of a dict per row.
    if "velocity" not in dumped:
        sku, shop, rates = columns.velocity
        velocity = map(_VelocityDump, shops[shop].tolist(), skus[sku].tolist(), rates.tolist())
        dumped["velocity"] = list(velocity)
    if "listed" not in dumped:
        sku, shop, quantities = columns.listed
        listed = map(_ListedDump, quantities.tolist(), shops[shop].tolist(), skus[sku].tolist())
        dumped["listed"] = list(listed)
    return dumped


class _VelocityDump(msgspec.Struct, gc=False):
    """A velocity row as the model writes it (fields in sorted order, as the hash's)."""

    shop: str
    sku: str
    units_per_day: float


class _ListedDump(msgspec.Struct, gc=False):
    quantity: int
    shop: str
    sku: str


def _plain(sections: dict[str, list[Any]]) -> dict[str, Any]:
    """Row sections as plain data (msgspec structs, engine/core/typed_rows.py, as dicts)."""
    return {name: msgspec.to_builtins(rows) for name, rows in sections.items()}


def orjson_floats(values: F64) -> bool:
    """Whether orjson writes every one of these floats as the standard encoder does."""
    low, high = _ORJSON_FLOATS
    return bool(np.all((values == 0) | ((values >= low) & (values < high))))


# Dict keys sorted, struct fields in their order: engine/core/typed_rows.py defines
# its rows' fields sorted (sorting each row's fields again cost 5% of reading a file).
_SORTED = msgspec.json.Encoder(order="deterministic")


def canonical_bytes(doc: Any, fast: bool) -> bytes:
    """Compact JSON with sorted keys (see `engine.core.io.canonical_json`); `fast` when
    the caller knows every float in `doc` is one orjson writes as the standard encoder
    does."""
    if fast:
        # msgspec writes what orjson's OPT_SORT_KEYS does for such a document, rows
        # given as structs too (tests/core/test_typed_rows.py), and 2-3x faster.
        return _SORTED.encode(doc)
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode()


def input_digest(snapshot_bytes: bytes, ruleset: BaseModel, mode: Mode) -> str:
    """sha256 of the canonical JSON of {"mode", "ruleset", "snapshot"}: the plan's
    `input_hash`, composed from the snapshot's canonical bytes (keys in sorted order)."""
    rules = ruleset.model_dump(mode="json", exclude_unset=True)
    digest = hashlib.sha256()
    digest.update(b'{"mode":' + orjson.dumps(mode) + b',"ruleset":')
    digest.update(canonical_bytes(rules, fast=False))
    digest.update(b',"snapshot":')
    digest.update(snapshot_bytes)
    digest.update(b"}")
    return digest.hexdigest()
