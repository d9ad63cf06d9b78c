"""Which column of a catalog file holds which master field.

A file's headers are matched against the master fields' aliases (the field names
themselves, common English names and the headers Chinese ERPs and PIMs export), after
normalising what spreadsheets vary on: case, spaces, full-width characters. Prefixed
headers (`attr:材质`, `规格:尺码`) give one attribute or one spec option each. Where the
defaults do not fit, a column map (YAML) names the field of each header or ignores it.
Nothing is dropped silently: a header nothing maps is an error until it is mapped or
ignored.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from openpyxl.utils import get_column_letter

from engine.core.errors import InputError, Issue

Level = Literal["spu", "sku"]
# text: trimmed text; int: a whole number; money: a decimal amount of yuan; list: items
# split on newlines, ';' or '|'; path: a category path split on '>' or '/'; kv: "k=v;k=v".
Kind = Literal["text", "int", "money", "list", "path", "kv"]


@dataclass(frozen=True)
class MasterField:
    """A field of the product master as a catalog column carries it."""

    name: str
    level: Level
    kind: Kind
    required: bool = False


CANONICAL: dict[str, MasterField] = {
    f.name: f
    for f in (
        MasterField("brand", "spu", "text", required=True),
        MasterField("spu_code", "spu", "text", required=True),
        MasterField("title", "spu", "text", required=True),
        MasterField("category", "spu", "path", required=True),
        MasterField("year", "spu", "int"),
        MasterField("season", "spu", "text"),
        MasterField("series", "spu", "text"),
        MasterField("description", "spu", "text"),
        MasterField("images", "spu", "list"),
        MasterField("attributes", "spu", "kv"),
        MasterField("sku_code", "sku", "text", required=True),
        MasterField("barcode", "sku", "text"),
        MasterField("spec", "sku", "kv"),
        MasterField("list_price", "sku", "money", required=True),
        MasterField("cost", "sku", "money"),
        MasterField("floor_price", "sku", "money"),
        MasterField("weight_g", "sku", "int"),
        MasterField("length_mm", "sku", "int"),
        MasterField("width_mm", "sku", "int"),
        MasterField("height_mm", "sku", "int"),
        MasterField("unit", "sku", "text"),
        MasterField("shelf_life_days", "sku", "int"),
        MasterField("sku_images", "sku", "list"),
    )
}
# The fields whose single keys may each have a column of their own.
PREFIXED = {"attributes": ("attr", "属性"), "spec": ("spec", "规格")}

# Besides each field's own name. Weight and size headers without a unit are taken as
# grams and millimetres (what the Chinese ERPs mean); a header in kg or cm matches
# nothing, so it is reported instead of read a thousand times too small.
ALIASES: dict[str, tuple[str, ...]] = {
    "brand": ("品牌", "品牌编码", "brand id", "brand code"),
    "spu_code": ("款号", "款式编码", "款式编号", "货号", "货品编号", "SPU", "SPU编码",
                 "style code", "style no", "style number", "product code", "item code"),
    "title": ("商品标题", "标题", "宝贝标题", "商品名称", "title", "product title",
              "product name", "item title"),
    "category": ("类目", "商品类目", "类目路径", "分类", "category path"),
    "year": ("年份", "上市年份"),
    "season": ("季节", "上市季节"),
    "series": ("系列",),
    "description": ("商品描述", "描述", "商品详情", "详情", "desc"),
    "images": ("主图", "商品主图", "图片", "main images", "image", "image urls"),
    "attributes": ("属性", "商品属性", "attrs", "properties"),
    "sku_code": ("商家编码", "SKU编码", "规格编码", "SKU", "SKU code", "SKU id", "outer id",
                 "merchant code"),
    "barcode": ("条形码", "条码", "商品条码", "国际条码", "69码", "EAN", "GTIN", "UPC"),
    "spec": ("规格", "销售属性", "specs", "options", "variant"),
    "list_price": ("吊牌价", "零售价", "标价", "市场价", "price", "list price", "retail price",
                   "tag price", "MSRP"),
    "cost": ("成本价", "成本", "进价", "采购价", "cost price", "unit cost"),
    "floor_price": ("最低售价", "最低价", "底价", "min price", "minimum price", "floor price"),
    "weight_g": ("重量(g)", "重量(克)", "重量", "weight", "weight (g)"),
    "length_mm": ("长(mm)", "长度(mm)", "长", "长度", "length", "length (mm)"),
    "width_mm": ("宽(mm)", "宽度(mm)", "宽", "宽度", "width", "width (mm)"),
    "height_mm": ("高(mm)", "高度(mm)", "高", "高度", "height", "height (mm)"),
    "unit": ("单位", "计量单位"),
    "shelf_life_days": ("保质期(天)", "保质期", "保质期天数", "shelf life", "shelf life (days)"),
    "sku_images": ("SKU图片", "SKU图", "规格图片", "规格图", "sku image", "variant images"),
}  # fmt: skip

# Spaces (any kind), underscores and hyphens vary between exports of one field; so do
# zero-width characters and a stray byte-order mark pasted into the first header.
_NOISE = re.compile(r"[\s_\-\u200b\ufeff]+")


def normalise(header: str) -> str:
    """The header as it is compared: NFKC (full-width letters, brackets and colons to
    their plain forms), case folded, without spaces, underscores or hyphens."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", header)).casefold()


def _alias_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for name in CANONICAL:
        for alias in (name, *ALIASES.get(name, ())):
            key = normalise(alias)
            if table.get(key, name) != name:  # a programming error, caught by the tests
                raise ValueError(f"alias {alias!r} names both {table[key]} and {name}")
            table[key] = name
    return table


HEADER_FIELDS = _alias_table()
_PREFIXES = {normalise(p): name for name, prefixes in PREFIXED.items() for p in prefixes}


@dataclass(frozen=True)
class Column:
    """A column of the file: its position, its header as the file has it, the master
    field it holds and, for a prefixed column, the attribute key or spec option name."""

    index: int
    header: str
    field: str
    key: str | None = None

    @property
    def letter(self) -> str:
        return get_column_letter(self.index + 1)


@dataclass(frozen=True)
class ColumnMap:
    """A user's column map: file header -> master field (or `attr:<key>` / `spec:<name>`),
    and headers to ignore. `source` is the map file's name, for error messages."""

    columns: dict[str, str] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()
    source: str = ""


def parse_target(target: str) -> tuple[str, str | None] | None:
    """A master field, or a prefixed `attr:<key>` / `spec:<name>`, as (field, key); None if
    it names neither. Full-width colons and the Chinese prefixes are accepted."""
    text = target.strip()
    if text in CANONICAL:
        return text, None
    return _prefixed(text)


def _prefixed(header: str) -> tuple[str, str | None] | None:
    # The key keeps the file's own spelling; only the prefix is normalised.
    prefix, colon, key = header.replace("：", ":").partition(":")
    name = _PREFIXES.get(normalise(prefix)) if colon else None
    if name is None or not key.strip():
        return None
    return name, key.strip()


def load_column_map(path: Path) -> ColumnMap:
    """Read a column map: `{columns: {"header as in the file": field, ...}, ignore: [...]}`.
    Raises InputError naming the map file and every bad entry."""
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        message = f"cannot read the column map: {exc.strerror or exc}"
        raise InputError([Issue("", message)], path.name) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError([Issue("", f"not valid YAML (UTF-8): {exc}")], path.name) from None
    return parse_column_map(doc, path.name)


def parse_column_map(doc: Any, source: str = "") -> ColumnMap:
    """A column map from its parsed document; see load_column_map."""
    issues: list[Issue] = []
    if not isinstance(doc, dict):
        message = "a column map is a mapping with 'columns' and 'ignore'"
        raise InputError([Issue("", message)], source)
    for key in doc:
        if key not in ("columns", "ignore"):
            issues.append(Issue(str(key), "unknown key; a column map has 'columns' and 'ignore'"))
    columns: dict[str, str] = {}
    raw_columns = doc.get("columns") or {}
    if not isinstance(raw_columns, dict):
        issues.append(Issue("columns", "a mapping of file header -> master field"))
        raw_columns = {}
    valid = ", ".join([*CANONICAL, "attr:<key>", "spec:<name>"])
    for header, target in raw_columns.items():
        where = f"columns[{header!r}]"
        if not isinstance(header, str) or not header.strip():
            issues.append(Issue(where, "a header is non-empty text"))
        elif not isinstance(target, str) or parse_target(target) is None:
            issues.append(
                Issue(
                    where,
                    f"header {header!r} maps to {target!r}, which is not a master "
                    f"field; valid fields: {valid}",
                )  # fmt: skip
            )
        else:
            columns[header] = target
    seen: dict[str, str] = {}
    for header in columns:
        first = seen.setdefault(normalise(header), header)
        if first != header:
            issues.append(
                Issue(
                    f"columns[{header!r}]",
                    f"the same header as {first!r} (case, spaces "
                    "and full-width forms aside); keep one",
                )  # fmt: skip
            )
    raw_ignore = doc.get("ignore") or []
    if not isinstance(raw_ignore, list) or not all(isinstance(h, str) for h in raw_ignore):
        issues.append(Issue("ignore", "a list of headers"))
        raw_ignore = []
    both = {normalise(h) for h in columns} & {normalise(h) for h in raw_ignore}
    issues.extend(
        Issue(f"ignore[{h!r}]", "the header is both mapped and ignored")
        for h in raw_ignore
        if normalise(h) in both
    )
    if issues:
        raise InputError(issues, source)
    return ColumnMap(columns, tuple(raw_ignore), source)


def resolve_columns(
    header: list[str], column_map: ColumnMap | None = None, source: str = ""
) -> list[Column]:
    """The master field of every column of `header`, the ignored ones left out. Raises one
    InputError (source: the catalog file) with every header problem: unknown headers, a
    field two columns claim, a required field without a column, a mapped header the file
    does not have."""
    column_map = column_map or ColumnMap()
    mapped = {normalise(h): (h, t) for h, t in column_map.columns.items()}
    ignored = {normalise(h) for h in column_map.ignore}
    issues: list[Issue] = []
    columns: list[Column] = []
    unknown: list[tuple[int, str]] = []
    used: set[str] = set()
    for index, text in enumerate(header):
        key = normalise(text)
        if key in ignored:
            continue
        target: tuple[str, str | None] | None
        if key in mapped:
            used.add(key)
            target = parse_target(mapped[key][1])
        elif key in HEADER_FIELDS:
            target = HEADER_FIELDS[key], None
        else:
            target = _prefixed(text)
        if target is None:
            unknown.append((index, text))
        else:
            columns.append(Column(index, text, target[0], target[1]))
    where = f"column map {column_map.source}: " if column_map.source else "column map: "
    issues.extend(
        Issue(f"{where}columns[{original!r}]", "the file has no column with this header")
        for key, (original, _) in mapped.items()
        if key not in used
    )
    for index, text in unknown:
        issues.append(
            Issue(
                f"column {get_column_letter(index + 1)} {text!r}",
                "unknown header: map it to a master field in a column map "
                f"(columns: {{{text!r}: <field>}}) or list it under ignore",
            )
        )
    claimed: dict[tuple[str, str | None], Column] = {}
    for column in columns:
        slot = (column.field, column.key)
        first = claimed.setdefault(slot, column)
        if first is not column:
            what = f"{column.field}:{column.key}" if column.key else column.field
            issues.append(
                Issue(
                    f"column {column.letter} {column.header!r}",
                    f"{what} is already read from column {first.letter} {first.header!r}; "
                    "map or ignore one of them",
                )
            )
    have = {column.field for column in columns}
    for name, master in CANONICAL.items():
        if master.required and name not in have:
            known = ", ".join(ALIASES.get(name, ())[:4])
            issues.append(
                Issue(
                    "header",
                    f"no column for the required field {name} (headers such as "
                    f"{name}, {known}; or map one in a column map)",
                )  # fmt: skip
            )
    if issues:
        raise InputError(issues, source)
    return columns
