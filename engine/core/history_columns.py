"""A snapshot's `history` section as flat arrays (`HistoryRows`): from the model's rows,
or from a parsed document's rows with plain checks and arrays, as engine/core/columns.py
reads the other row sections. A history holds numbers per row and day: 200,000 rows of
90 days with their listings are 36 million, which the model holds as objects (6 s of
CPU to validate, 5 s more to write them for the input hash, 3 s to index them). Here
they are checked and read as text and arrays, never an object per day; whatever the
checks refuse (or are unsure of) is left to the model, which names the fault.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from itertools import chain, compress, repeat
from operator import attrgetter, is_not, itemgetter
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray

from engine.core.limits import MAX_UNITS
from engine.core.snapshot import MAX_HISTORY_DAYS, HistoryRow

I64 = NDArray[np.int64]
Mask = NDArray[np.bool_]

HISTORY_KEYS = frozenset(HistoryRow.model_fields)
_DAILY = ("listed", "out_of_stock")  # optional lists, one entry a day, as long as units
# The only spelling of a date the checks accept: the one the model writes.
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# What the model writes for a row that leaves out its optional lists.
_ROW_DEFAULTS: dict[str, Any] = dict.fromkeys(_DAILY)


@dataclass(frozen=True)
class HistoryRows:
    """The snapshot's `history` section as flat arrays: per row its cell and days, and
    per day (rows one after another) the units sold and whether the listing ran out."""

    sku: I64  # [rows] SKU code
    shop: I64  # [rows] shop code
    days_back: I64  # [rows] days from the row's first day to as_of (1 = the day before)
    length: I64  # [rows] days the row covers
    units: I64  # [sum of lengths] units sold
    stockout: Mask  # [sum of lengths] out of stock, or sold >= listed

    @classmethod
    def of_rows(
        cls,
        rows: Sequence[HistoryRow],
        sku_pos: dict[str, int],
        shop_pos: dict[str, int],
        as_of: date,
    ) -> HistoryRows:
        """From validated rows (ids known, lengths equal, days before as_of)."""
        n = len(rows)
        length = np.fromiter(map(len, map(attrgetter("units"), rows)), np.int64, n)
        units = np.fromiter(chain.from_iterable(r.units for r in rows), np.int64, int(length.sum()))
        # Only the rows that give listings or flags are read for them.
        daily: list[tuple[I64, NDArray[Any]]] = []
        for name, kind in zip(_DAILY, (np.int64, np.bool_), strict=True):
            values = list(map(attrgetter(name), rows))
            given = np.flatnonzero(np.fromiter(map(bool, values), bool, n))
            flat = chain.from_iterable(compress(values, values))
            daily.append((given, np.fromiter(flat, kind, int(length[given].sum()))))
        starts = list(map(attrgetter("start"), rows))
        back = {day: (as_of - day).days for day in set(starts)}
        return cls(
            sku=np.fromiter(map(sku_pos.__getitem__, map(attrgetter("sku"), rows)), np.int64, n),
            shop=np.fromiter(map(shop_pos.__getitem__, map(attrgetter("shop"), rows)), np.int64, n),
            days_back=np.fromiter(map(back.__getitem__, starts), np.int64, n),
            length=length,
            units=units,
            stockout=_stockout(units, length, *daily),
        )


def _stockout(units: I64, length: I64, listed: tuple[I64, I64], flags: tuple[I64, Mask]) -> Mask:
    """Per day, whether the listing ran out: sold all it listed, or flagged out of
    stock. `listed` and `flags`: the rows that give them, and their days' values."""
    stockout = np.zeros(units.size, dtype=bool)
    rows, quantity = listed
    days = _days_of(rows, length)
    stockout[days] |= units[days] >= quantity
    rows, flagged = flags
    if rows.size:  # flags are rarer than listings
        stockout[_days_of(rows, length)] |= flagged
    return stockout


def _days_of(rows: I64, length: I64) -> slice | Mask:
    """The flat days of these rows (ascending codes), as an index: a mask over the days,
    or every day where every row is given (as listings mostly are)."""
    if rows.size == length.size:
        return slice(None)
    given = np.zeros(length.size, dtype=bool)
    given[rows] = True
    return np.repeat(given, length)


class _Refused(Exception):
    """A check did not pass: the model reads the document instead (and names why)."""


def _require(ok: bool) -> None:
    if not ok:
        raise _Refused


def read_history(
    rows: list[dict[str, Any]], sku: I64, shop: I64, as_of: date
) -> tuple[HistoryRows, list[dict[str, Any]]] | None:
    """A document's history rows as arrays, and as the model writes them (for the input
    hash); None where a check fails or cannot tell. The caller has checked that the rows
    are dicts with no key but a history row's, and coded their SKUs and shops (`sku`,
    `shop`: known ids, one row per cell, of one brand)."""
    try:
        return _read(rows, sku, shop, as_of)
    except _Refused:
        return None


def _read(
    rows: list[dict[str, Any]], sku: I64, shop: I64, as_of: date
) -> tuple[HistoryRows, list[dict[str, Any]]]:
    n = len(rows)
    try:
        starts, units = (list(map(itemgetter(k), rows)) for k in ("start", "units"))
    except KeyError:
        raise _Refused from None
    days_back, start_text = _days_back(starts, as_of)
    _require(_only(units, list))
    length = np.fromiter(map(len, units), np.int64, n)
    # The model's bounds, told by day offsets as it tells them: at least a day, none
    # more than MAX_HISTORY_DAYS before as_of, the last before it.
    _require(bool(np.all((length >= 1) & (days_back <= MAX_HISTORY_DAYS) & (days_back >= length))))
    sold = _counts(units, int(length.sum()))
    listed_at, listed = _daily(rows, "listed", length)
    flags_at, flags = _daily(rows, "out_of_stock", length)
    listed_days = (listed_at, _counts(listed, int(length[listed_at].sum())))
    flagged_days = (flags_at, _bools(flags, int(length[flags_at].sum())))
    history = HistoryRows(
        sku=sku,
        shop=shop,
        days_back=days_back,
        length=length,
        units=sold,
        stockout=_stockout(sold, length, listed_days, flagged_days),
    )
    return history, _dumped(rows, starts, start_text)


def _daily(rows: list[dict[str, Any]], name: str, length: I64) -> tuple[I64, list[list[Any]]]:
    """The rows that give the optional list `name`, and their lists (each as long as
    the row's units)."""
    values: list[Any] = list(map(dict.get, rows, repeat(name)))
    given = np.flatnonzero(np.fromiter(map(is_not, values, repeat(None)), bool, len(rows)))
    # An empty list (or any falsy value) is given but left out here: refused below.
    lists: list[list[Any]] = list(compress(values, values))
    _require(_only(lists, list) and len(lists) == given.size)
    _require(bool(np.all(np.fromiter(map(len, lists), np.int64, given.size) == length[given])))
    return given, lists


def _days_back(starts: list[Any], as_of: date) -> tuple[I64, dict[Any, str]]:
    """Each row's days from its first day to as_of, and each start as the model writes
    it. Dates are read once each: a history's rows mostly share a few."""
    text: dict[Any, str] = {}
    back: dict[Any, int] = {}
    # A date (from YAML) is taken, a datetime is not: type(), not isinstance().
    _require(_only(starts, str, date))
    for value in set(starts):
        day = value
        if type(value) is str:
            _require(_DATE.fullmatch(value) is not None)
            try:
                day = date.fromisoformat(value)
            except ValueError:
                raise _Refused from None
        text[value], back[value] = day.isoformat(), (as_of - day).days
    return np.fromiter(map(back.__getitem__, starts), np.int64, len(starts)), text


def _only(values: list[Any], *kinds: type) -> bool:
    """Every value of exactly these types (a bool is an int to Python, not to the model)."""
    return set(map(type, values)) <= set(kinds)


def _text(lists: list[list[Any]], alphabet: bytes) -> bytes:
    """orjson's writing of these non-empty lists one after another, without brackets,
    where it holds only `alphabet` and one pair of brackets for each list and the outer
    one. Checking 18 million values by type() and reading them by np.fromiter takes
    some 2 s; orjson writes them in 0.35 s, numpy reads the text back in as much, and
    the text tells their types: an int is written as digits (a '-' before a negative
    one), a bool as true or false, a float with '.' or 'e', None as null, a string
    quoted, a dict in braces, a list nested in another with a pair of brackets more.
    Anything else refuses the document: no other object is written by orjson
    (TypeError), nor an int beyond 64 bits."""
    try:
        text = orjson.dumps(lists)
    except TypeError:
        raise _Refused from None
    # The lists are non-empty, and orjson writes a ',' between two lists as between two
    # values: without brackets, the values one after another.
    values = text.translate(None, b"[]")
    _require(len(text) - len(values) == 2 * (len(lists) + 1))
    _require(not values.translate(None, alphabet))
    return values


def _counts(lists: list[list[Any]], total: int) -> I64:
    """The unit counts of these lists, one after another: ints from 0 to MAX_UNITS (an
    int beyond int64 is read as its largest value, which is more)."""
    if not lists:
        return np.zeros(0, dtype=np.int64)
    values = np.fromstring(_text(lists, b"0123456789,"), dtype=np.int64, sep=",")
    _require(values.size == total and int(values.max()) <= MAX_UNITS)
    return values


def _bools(lists: list[list[Any]], total: int) -> Mask:
    """The bools of these lists, one after another."""
    if not lists:
        return np.zeros(0, dtype=bool)
    text = _text(lists, b"truefals,").replace(b"true", b"1").replace(b"false", b"0")
    values = np.fromstring(text, dtype=np.int64, sep=",")
    _require(values.size == total)
    return values.astype(bool)


def _dumped(
    rows: list[dict[str, Any]], starts: list[Any], start_text: dict[Any, str]
) -> list[dict[str, Any]]:
    """The rows as `Snapshot.model_dump(mode="json")` writes them: the document's own
    where they are that (every field given, dates as text), else rebuilt."""
    complete = all(map(len(HISTORY_KEYS).__eq__, map(len, rows)))
    if _only(list(start_text), str):  # each the model's spelling of its date
        return rows if complete else list(map(_ROW_DEFAULTS.__or__, rows))
    texts = map(start_text.__getitem__, starts)
    return [_ROW_DEFAULTS | row | {"start": text} for row, text in zip(rows, texts, strict=True)]
