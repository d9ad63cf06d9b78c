"""Catalog files for the tests, written as the tools agencies use write them: CSV in a
given encoding and delimiter, XLSX with typed cells and merged ranges."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from engine.catalog.model import Product

EN_HEADERS = (
    "brand", "spu_code", "title", "category", "year", "season", "series", "description",
    "images", "attributes", "sku_code", "barcode", "spec", "list_price", "cost",
    "floor_price", "weight_g", "length_mm", "width_mm", "height_mm", "unit",
    "shelf_life_days", "sku_images",
)  # fmt: skip
ZH_HEADERS = (
    "品牌", "款号", "商品标题", "类目", "年份", "季节", "系列", "商品描述", "主图", "属性",
    "商家编码", "条形码", "规格", "吊牌价", "成本价", "最低售价", "重量(g)", "长(mm)",
    "宽(mm)", "高(mm)", "单位", "保质期(天)", "SKU图片",
)  # fmt: skip
HEADERS = {"en": dict(zip(EN_HEADERS, EN_HEADERS, strict=True)),
           "zh": dict(zip(EN_HEADERS, ZH_HEADERS, strict=True))}  # fmt: skip
PREFIX = {"en": {"attributes": "attr:", "spec": "spec:"},
          "zh": {"attributes": "属性:", "spec": "规格:"}}  # fmt: skip


def write_csv(
    path: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    encoding: str = "utf-8",
    delimiter: str = ",",
) -> Path:
    """A CSV as spreadsheet tools write it: CRLF line ends, quotes where needed."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(
    path: Path,
    header: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    sheet: str = "Sheet1",
    merged: Sequence[str] = (),
    before: Sequence[str] = (),
) -> Path:
    """An XLSX workbook with the cells as given (numbers stay numbers), the `merged`
    ranges merged, and empty sheets named `before` ahead of the data sheet."""
    book = Workbook()
    first = book.active
    assert first is not None
    for name in before:
        book.create_sheet(name)
    ws = book.create_sheet(sheet)
    book.remove(first)
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    for ref in merged:
        ws.merge_cells(ref)
    book.save(path)
    return path


def _kv(pairs: dict[str, str]) -> str:
    return ";".join(f"{k}={v}" for k, v in pairs.items())


def _money(value: Any, typed: bool) -> Any:
    if value is None:
        return ""
    return float(value) if typed else format(value, "f")


def _number(value: int | None, typed: bool) -> Any:
    if value is None:
        return ""
    return value if typed else str(value)


def catalog_rows(
    products: Sequence[Product],
    language: str = "en",
    key_columns: bool = False,
    blank_repeats: bool = False,
    typed: bool = False,
) -> tuple[list[str], list[list[Any]]]:
    """The products as a catalog file's header and rows (one row per SKU): attributes
    and spec in k=v cells or in one prefixed column per key (`key_columns`), the
    product's cells repeated on each row or only on its first (`blank_repeats`), money
    and whole numbers as numbers (`typed`, for XLSX) or as text."""
    names = HEADERS[language]
    attr_keys = list(dict.fromkeys(k for p in products for k in p.attributes))
    spec_keys = list(dict.fromkeys(k for p in products for s in p.skus for k in s.spec))
    fields = [f for f in EN_HEADERS if not (key_columns and f in ("attributes", "spec"))]
    header = [names[f] for f in fields]
    if key_columns:
        header += [PREFIX[language]["attributes"] + k for k in attr_keys]
        header += [PREFIX[language]["spec"] + k for k in spec_keys]
    rows: list[list[Any]] = []
    for product in products:
        for index, sku in enumerate(product.skus):
            repeat = index == 0 or not blank_repeats
            spu: dict[str, Any] = {
                "title": product.title,
                "category": " > ".join(product.category),
                "year": _number(product.year, typed),
                "season": product.season,
                "series": product.series,
                "description": product.description,
                "images": "\n".join(product.images),
                "attributes": _kv(product.attributes),
            }
            values: dict[str, Any] = {
                "brand": product.brand,
                "spu_code": product.spu_code,
                **{k: (v if repeat else "") for k, v in spu.items()},
                "sku_code": sku.sku_code,
                "barcode": sku.barcode,
                "spec": _kv(sku.spec),
                "list_price": _money(sku.list_price, typed),
                "cost": _money(sku.cost, typed),
                "floor_price": _money(sku.floor_price, typed),
                "weight_g": _number(sku.weight_g, typed),
                "length_mm": _number(sku.length_mm, typed),
                "width_mm": _number(sku.width_mm, typed),
                "height_mm": _number(sku.height_mm, typed),
                "unit": sku.unit,
                "shelf_life_days": _number(sku.shelf_life_days, typed),
                "sku_images": "|".join(sku.images),
            }
            row = [values[f] for f in fields]
            if key_columns:
                row += [product.attributes.get(k, "") if repeat else "" for k in attr_keys]
                row += [sku.spec.get(k, "") for k in spec_keys]
            rows.append(row)
    return header, rows
