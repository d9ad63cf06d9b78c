"""Catalog import: a CSV or XLSX file, one row per SKU, into product master records.

Rows group into products by (brand, spu_code); the product's own cells (title,
category, ...) repeat on each of its rows or are left blank after the first. Every bad
cell of every row is reported in one InputError, each naming the row as a spreadsheet
numbers it and the column by the file's own header, and nothing is returned then: a
half-imported catalog would publish some products and silently leave out others.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from pydantic import BaseModel, ValidationError

from engine.catalog.columns import CANONICAL, Column, ColumnMap, Kind, resolve_columns
from engine.catalog.model import Product, SkuRecord
from engine.catalog.sheets import read_table
from engine.core.collector import collector_paused
from engine.core.errors import InputError, Issue

# A SkuRecord's own field where the master field's name says which level it is on.
SKU_FIELD = {"sku_images": "images"}
KEYED = ("attributes", "spec")
SPU_FIELDS = [name for name, f in CANONICAL.items() if f.level == "spu"]
SKU_FIELDS = [name for name, f in CANONICAL.items() if f.level == "sku"]
# What makes a row a product's SKU: needed on every row. The product's other required
# cells are needed on one of its rows.
PRODUCT_KEY = ("brand", "spu_code")
ROW_REQUIRED = [*PRODUCT_KEY, *(n for n in SKU_FIELDS if CANONICAL[n].required)]
PRODUCT_REQUIRED = [n for n in SPU_FIELDS if CANONICAL[n].required and n not in PRODUCT_KEY]
M = TypeVar("M", bound=BaseModel)


def parse_catalog(
    path: Path | str, column_map: ColumnMap | None = None, sheet: str | None = None
) -> list[Product]:
    """The products of a catalog file, in the order they first appear. Raises one
    InputError (source: the file name) with every issue of the file."""
    path = Path(path)
    # Some hundred thousand small objects that all live until the import ends: the
    # cyclic collector would scan them again and again (about half a 5,000-SKU import).
    with collector_paused():
        table = read_table(path, sheet)
        columns = resolve_columns(table.header, column_map, path.name)
        return _Import(path.name, columns).run(table.rows)


# --- cell values ------------------------------------------------------------------------


class BadValue(ValueError):
    """A cell whose text is not a value of its column's kind; the message says why."""


_INT = re.compile(r"[+-]?[0-9]+(?:\.0+)?")  # "12.0": how Excel-made CSVs write whole numbers
_AMOUNT = re.compile(r"([+-]?)((?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.([0-9]+))?)")
_LIST_SPLIT = re.compile(r"[\r\n;|\uff1b\uff5c]+")
_PAIR_SPLIT = re.compile(r"[\r\n;\uff1b]+")
_PAIR = re.compile(r"([^=:\uff1a\uff1d]*)[=:\uff1a\uff1d](.*)", re.DOTALL)
_CURRENCY = ("¥", "￥", "RMB", "CNY")


def parse_int(text: str) -> int:
    if not _INT.fullmatch(text):
        raise BadValue(f"{text!r} is not a whole number")
    return int(text.split(".")[0])


def parse_money(text: str) -> str:
    """An amount of yuan as a decimal string with two places ("1,299" -> "1299.00"), so
    the same price reads the same from any file (19.9 from XLSX, 19.90 from CSV)."""
    amount = text
    for symbol in _CURRENCY:
        amount = amount.removeprefix(symbol).strip()
    match = _AMOUNT.fullmatch(amount)
    if not match:
        raise BadValue(f"{text!r} is not an amount of money (such as 1299.00 or 1,299.00)")
    sign, number, decimals = match.groups()
    if sign == "-" and Decimal(number.replace(",", "")) != 0:
        raise BadValue(f"{text!r} is negative; money is >= 0")
    if decimals and len(decimals.rstrip("0")) > 2:
        raise BadValue(f"{text!r} has {len(decimals)} decimals; money has at most 2 (fen)")
    return f"{Decimal(number.replace(',', '')):.2f}"


def parse_list(text: str) -> list[str]:
    return [item.strip() for item in _LIST_SPLIT.split(text) if item.strip()]


def parse_path(text: str) -> list[str]:
    # ">" wins when present: Taobao's own category names hold "/" ("运动/瑜伽/健身"), and a
    # path written with ">" keeps them whole.
    separators = r"[>\uff1e]" if re.search(r"[>\uff1e]", text) else r"[/\uff0f]"
    parts = [part.strip() for part in re.split(separators, text)]
    if not all(parts):
        raise BadValue(f"{text!r} has an empty level; a path is such as 'shoes > running'")
    return parts


def parse_kv(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in _PAIR_SPLIT.split(text):
        if not pair.strip():
            continue
        match = _PAIR.fullmatch(pair)
        key, value = (match.group(1).strip(), match.group(2).strip()) if match else ("", "")
        if not key or not value:
            raise BadValue(f"{pair.strip()!r} is not key=value (cells read as 'k=v;k=v')")
        if out.get(key, value) != value:
            raise BadValue(f"{key!r} is given twice, as {out[key]!r} and {value!r}")
        out[key] = value
    return out


PARSERS: dict[Kind, Callable[[str], Any]] = {
    "text": str.strip,
    "int": parse_int,
    "money": parse_money,
    "list": parse_list,
    "path": parse_path,
    "kv": parse_kv,
}


# --- the import -------------------------------------------------------------------------


class _Cell(NamedTuple):
    """A value and where it came from (a tuple: one is made per cell, so it is cheap)."""

    value: Any
    text: str
    row: int
    column: Column


@dataclass(slots=True)
class _Row:
    number: int
    plain: dict[str, _Cell] = field(default_factory=dict)
    # attributes / spec: key -> the cell that gave it
    keyed: dict[str, dict[str, _Cell]] = field(default_factory=lambda: {k: {} for k in KEYED})
    bad: set[str] = field(default_factory=set)  # fields already reported on this row


@dataclass
class _Product:
    brand: str
    spu_code: str
    first: _Row
    spu: dict[str, _Cell] = field(default_factory=dict)
    attributes: dict[str, _Cell] = field(default_factory=dict)
    skus: list[SkuRecord] = field(default_factory=list)
    failed_skus: int = 0


class _Import:
    def __init__(self, source: str, columns: list[Column]) -> None:
        self.source = source
        self.columns = columns
        self.by_field = {c.field: c for c in columns if c.key is None}
        self.issues: list[tuple[int, int, Issue]] = []

    def issue(self, row: int, column: Column | None, message: str) -> None:
        if column is None:
            self.issues.append((row, -1, Issue(f"row {row}", message)))
        else:
            where = f"row {row}, column {column.header!r}"
            self.issues.append((row, column.index, Issue(where, message)))

    def run(self, rows: Iterable[tuple[int, list[str]]]) -> list[Product]:
        products: dict[tuple[str, str], _Product] = {}
        sku_rows: dict[str, int] = {}
        for number, cells in rows:
            row = self.read_row(number, cells)
            sku = self.build_sku(row)
            code = row.plain.get("sku_code")
            if code is not None:
                first = sku_rows.setdefault(code.value, number)
                if first != number:
                    message = f"SKU code {code.value!r} is on row {first} too"
                    self.issue(number, code.column, message)
                    continue
            brand, spu = row.plain.get("brand"), row.plain.get("spu_code")
            if brand is None or spu is None:
                continue  # reported: a row that names no product belongs to none
            key = (brand.value, spu.value)
            product = products.get(key)
            if product is None:
                product = products[key] = _Product(brand.value, spu.value, row)
            self.merge_spu(product, row)
            if sku is None:
                product.failed_skus += 1
            else:
                product.skus.append(sku)
        built = [p for p in (self.build_product(p) for p in products.values()) if p]
        if self.issues:
            self.issues.sort(key=lambda item: (item[0], item[1]))
            raise InputError([issue for _, _, issue in self.issues], self.source)
        return built

    def read_row(self, number: int, cells: list[str]) -> _Row:
        row = _Row(number)
        for column in self.columns:
            text = cells[column.index]
            if not text.strip():
                continue
            kind: Kind = "text" if column.key else CANONICAL[column.field].kind
            try:
                value = PARSERS[kind](text)
            except BadValue as exc:
                self.issue(number, column, str(exc))
                row.bad.add(column.field)
                continue
            if column.key is not None:
                self.put_key(row, column.field, column.key, _Cell(value, text, number, column))
            elif column.field in KEYED:
                for key, item in value.items():
                    self.put_key(row, column.field, key, _Cell(item, text, number, column))
            else:
                row.plain[column.field] = _Cell(value, text, number, column)
        for name in ROW_REQUIRED:
            if name not in row.plain and name not in row.bad:
                self.issue(number, self.by_field[name], f"{name} is required; the cell is blank")
                row.bad.add(name)
        return row

    def put_key(self, row: _Row, name: str, key: str, cell: _Cell) -> None:
        """One attribute or spec option, which a k=v column and a prefixed column may both
        give: they must agree."""
        other = row.keyed[name].setdefault(key, cell)
        if other.value != cell.value:
            self.issue(
                row.number,
                cell.column,
                f"{name} {key!r} is {cell.value!r} here but {other.value!r} in column "
                f"{other.column.header!r}",
            )
            row.bad.add(name)

    def merge_spu(self, product: _Product, row: _Row) -> None:
        """The product's own cells: the first row that fills one decides it; a later row
        leaves it blank or repeats it."""
        label = f"product {product.brand}/{product.spu_code}"
        cells = [(name, row.plain[name], product.spu) for name in SPU_FIELDS if name in row.plain]
        cells += [(key, cell, product.attributes) for key, cell in row.keyed["attributes"].items()]
        for name, cell, held in cells:
            first = held.setdefault(name, cell)
            if first.value == cell.value:
                continue
            if held is product.attributes:  # a k=v cell holds more than this one value
                what, was, now = f"attribute {name!r}", first.value, cell.value
            else:
                what, was, now = name, first.text.strip(), cell.text.strip()
            self.issue(
                row.number,
                cell.column,
                f"{what} differs within {label}: row {first.row} has {was!r}, this row {now!r}",
            )

    def build_sku(self, row: _Row) -> SkuRecord | None:
        data: dict[str, Any] = {
            SKU_FIELD.get(name, name): row.plain[name].value
            for name in SKU_FIELDS
            if name in row.plain
        }
        if row.keyed["spec"]:
            data["spec"] = {key: cell.value for key, cell in row.keyed["spec"].items()}

        def where(loc: tuple[Any, ...]) -> tuple[int, Column | None]:
            name = next((k for k, v in SKU_FIELD.items() if v == loc[0]), str(loc[0]))
            if name == "spec" and len(loc) > 1 and loc[1] in row.keyed["spec"]:
                return row.number, row.keyed["spec"][loc[1]].column
            return row.number, self.by_field.get(name)

        return self.validate(SkuRecord, data, row.bad, where, row.number)

    def build_product(self, product: _Product) -> Product | None:
        first = product.first.number
        for name in PRODUCT_REQUIRED:
            if name not in product.spu and name not in product.first.bad:
                self.issue(first, self.by_field[name], f"{name} is required; the cell is blank")
                product.first.bad.add(name)
        data: dict[str, Any] = {name: cell.value for name, cell in product.spu.items()}
        if product.attributes:
            data["attributes"] = {key: cell.value for key, cell in product.attributes.items()}
        data["skus"] = product.skus
        # SKUs that failed are reported on their own rows; the product is checked without
        # them so its own cells are still reported.
        skip = set(product.first.bad) | ({"skus"} if product.failed_skus else set())

        def where(loc: tuple[Any, ...]) -> tuple[int, Column | None]:
            name = str(loc[0])
            if name == "attributes" and len(loc) > 1 and loc[1] in product.attributes:
                cell = product.attributes[loc[1]]
                return cell.row, cell.column
            if name in product.spu:
                return product.spu[name].row, product.spu[name].column
            return first, self.by_field.get(name)

        return self.validate(Product, data, skip, where, first)

    def validate(
        self,
        model: type[M],
        data: dict[str, Any],
        reported: set[str],
        where: Callable[[tuple[Any, ...]], tuple[int, Column | None]],
        row: int,
    ) -> M | None:
        """The record, or None with every new issue added (a pydantic error on a field
        already reported, or on a required cell reported blank, is the same issue)."""
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors():
                loc = tuple(error["loc"])
                name = str(loc[0]) if loc else ""
                master = next((k for k, v in SKU_FIELD.items() if v == name), name)
                if master in reported or name in reported or error["type"] == "missing":
                    continue
                at_row, column = where(loc) if loc else (row, None)
                self.issue(at_row, column, _message(error))
            return None


def _message(error: Any) -> str:
    """A pydantic error in the words of a spreadsheet user."""
    value = error.get("input")
    if error["type"] == "string_pattern_mismatch":
        message = "a code is one word: no spaces"
    else:
        message = str(error["msg"])
    if isinstance(value, str | int | Decimal) and len(str(value)) <= 60:
        message += f" (got {str(value)!r})"
    return message
