"""A platform's listing payload, made from a product master record and a shop's settings.

Each platform data file (engine/catalog/platforms/) says, field by field, where a payload
value comes from; `compile_builder` turns those mappings into a `PayloadBuilder` once, and
`PayloadBuilder.build` applies it to a product. The mapping kinds (the platforms README
describes them for data authors):

- {"from": "title"}: a master value at a dotted path (`attributes.材质`, `category[-1]`,
  `skus[].list_price`, `options.尺码`); a list of paths takes the first one present;
  "pick" (first, min, max, sum) reduces a list of values to one, "join" writes it as text.
- {"const": 1}: the same value for every product.
- {"map": {"from": path, "values": {...}, "default": v}}: the master value translated to
  the platform's word for it; a value the map lacks is an "unmapped" issue unless a
  (non-null) default is given.
- {"template": "{brand} {title}"}: text with master values in it; a missing value is an
  issue, never an empty hole in a title.
- {"convert": {"from": path, "unit": "g->kg"}}: g->kg, mm->cm, yuan->fen, exact.
- {"shop": "location.city"}: a shop setting from the context the caller passes;
  "per_sku": true reads a table of SKU code -> value (the plan's stock) and, outside a
  SKU list, sums it over the product's SKUs; "optional": true leaves the field out
  quietly when the shop has no such setting.

An absent master value (None, "", [] or {}) leaves the payload field out, so the
platform schema's `required` is what reports it. Payloads are plain JSON: money stays a
decimal string unless converted to fen, and a converted measure is an int when whole,
else the float whose shortest text is the exact decimal (1234 g -> 1.234).
"""

from __future__ import annotations

import copy
import dataclasses
import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter
from typing import Any

from engine.catalog.model import Product, SkuRecord

__all__ = [
    "MAPPING_KINDS",
    "UNITS",
    "FieldIssue",
    "Loc",
    "MappingError",
    "Payload",
    "PayloadBuilder",
    "compile_builder",
    "field_path",
]

Loc = tuple[str | int, ...]
MAPPING_KINDS = ("from", "const", "map", "template", "convert", "shop")
# Keys a mapping of each kind may carry beside its kind ("note" is a comment for authors).
_MODIFIERS = {
    "from": {"pick", "join"},
    "const": set(),
    "map": set(),
    "template": set(),
    "convert": set(),
    "shop": {"per_sku", "optional"},
}
_PICKS = ("first", "min", "max", "sum")
# unit -> (factor, must the result be whole): fen are whole by definition.
UNITS: dict[str, tuple[Decimal, bool]] = {
    "g->kg": (Decimal("0.001"), False),
    "mm->cm": (Decimal("0.1"), False),
    "yuan->fen": (Decimal(100), True),
}
_PRODUCT_FIELDS = frozenset(Product.model_fields) | {"options"}
_SKU_FIELDS = frozenset(SkuRecord.model_fields)
_SEGMENT = re.compile(r"^([^.\[\]]+)((?:\[-?\d*\])*)$")
_INDEX = re.compile(r"\[(-?\d*)\]")


@dataclass(frozen=True)
class FieldIssue:
    """One reason a payload is not ready: the payload field (`title`,
    `sku_list[B1-0001].weight`), the rule it breaks, a message for people, the value."""

    field: str
    rule: str
    message: str
    value: Any = None
    # The field as a path of keys and list positions (for grouping and scoring).
    loc: Loc = dataclasses.field(default=(), repr=False, compare=False)


class MappingError(Exception):
    """Mappings that cannot be compiled: (key path, message) for each one."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{key}: {message}" for key, message in problems))


@dataclass
class Payload:
    """A built payload, the issues met while building it, and which SKU each element of
    a SKU list stands for (so an issue can name `sku_list[B1-0001]`, not `sku_list[0]`)."""

    doc: dict[str, Any]
    issues: list[FieldIssue]
    sku_codes: dict[Loc, list[str]]


def field_path(loc: Sequence[str | int], sku_codes: Mapping[Loc, list[str]] | None = None) -> str:
    """('sku_list', 0, 'weight') -> 'sku_list[B1-0001].weight' when the list's codes are
    known, else 'sku_list[0].weight'."""
    out = ""
    for k, part in enumerate(loc):
        if isinstance(part, int):
            codes = sku_codes.get(tuple(loc[:k])) if sku_codes else None
            out += f"[{codes[part]}]" if codes and 0 <= part < len(codes) else f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


# --- master paths ------------------------------------------------------------------------

_MISSING: Any = object()


_HOLLOW = (str, list, dict)


def _absent(value: Any) -> bool:
    # By type, never by ==: comparing a pydantic record with "" costs microseconds.
    return value is _MISSING or value is None or (type(value) in _HOLLOW and not value)


def _plain(value: Any) -> Any:
    """Master values as JSON (money as the decimal string the interchange format uses),
    copied: a payload never shares a list or an object with the record."""
    kind = type(value)
    if kind is Decimal:
        return format(value, "f")
    if kind is list:
        return [_plain(v) for v in value]
    if kind is dict:
        return {k: _plain(v) for k, v in value.items()}
    return value


Step = Callable[[Any], Any]  # one part of a path: a value -> the next, or _MISSING
# (product, the SKU in scope or None) -> a value, or _MISSING
Getter = Callable[[Product, SkuRecord | None], Any]


def _key(name: str) -> Step:
    return lambda value: value.get(name, _MISSING) if type(value) is dict else _MISSING


def _index(i: int) -> Step:
    return lambda value: (
        value[i] if type(value) is list and -len(value) <= i < len(value) else _MISSING
    )


def _chain(steps: Sequence[Step]) -> Step:
    """The steps as one function; an absent value anywhere on the way is _MISSING."""
    first, rest = steps[0], steps[1:]
    if not rest:

        def last(value: Any) -> Any:
            value = first(value)
            return _MISSING if _absent(value) else value

        return last
    tail = _chain(rest)

    def step(value: Any) -> Any:
        value = first(value)
        return _MISSING if _absent(value) else tail(value)

    return step


# Master fields holding an object (one key segment follows) or a list (an index follows).
_DICTS = {"attributes", "options", "spec"}
_LISTS = {"category", "images"}


def _steps(segments: list[str], fields: frozenset[str], text: str) -> Step:
    """The steps of `field[i]` or `field.key[i]` after the product or the SKU."""
    if len(segments) > 2:
        raise ValueError(f"{text!r}: too many parts")
    steps: list[Step] = []
    for position, segment in enumerate(segments):
        match = _SEGMENT.match(segment)
        if match is None:
            raise ValueError(f"{text!r}: cannot read the part {segment!r}")
        name, brackets = match.group(1), _INDEX.findall(match.group(2))
        if position == 0:
            if name not in fields:
                known = ", ".join(sorted(fields))
                raise ValueError(f"{text!r}: unknown field {name!r} (known: {known})")
            if len(segments) == 2 and (name not in _DICTS or brackets):
                raise ValueError(f"{text!r}: only attributes, options and spec take a key")
            if brackets and name not in _LISTS:
                raise ValueError(f"{text!r}: {name} is not a list")
        steps.append(attrgetter(name) if position == 0 else _key(name))
        for index in brackets:
            if index == "":
                raise ValueError(f"{text!r}: [] is for skus[] only; use [0] or [-1]")
            steps.append(_index(int(index)))
    return _chain(steps)


def _compile_path(text: Any, in_sku: bool) -> tuple[Getter, bool]:
    """A getter for one master path, and whether it gives one value per SKU of the
    product (a `skus[]` path outside a SKU list)."""
    if not isinstance(text, str) or not text:
        raise ValueError(f"a master path must be non-empty text, not {text!r}")
    segments = text.split(".")
    if segments[0] == "skus" or segments[0].startswith("skus["):
        if segments[0] != "skus[]" or len(segments) < 2:
            raise ValueError(f"{text!r}: write skus[].<field> (each SKU), e.g. skus[].barcode")
        of_sku = _steps(segments[1:], _SKU_FIELDS, text)
        if in_sku:
            return lambda product, sku: of_sku(sku), False

        def each_sku(product: Product, sku: SkuRecord | None) -> Any:
            kept = [v for v in map(of_sku, product.skus) if v is not _MISSING]
            return kept or _MISSING

        return each_sku, True
    of_product = _steps(segments, _PRODUCT_FIELDS, text)
    return lambda product, sku: of_product(product), False


# --- mappings ----------------------------------------------------------------------------

Problem = tuple[str, str, Any]  # (rule, message, value)
# (product, SKU in scope, shop context) -> (value or _MISSING, problem or None)
Resolver = Callable[[Product, SkuRecord | None, Mapping[str, Any]], tuple[Any, Problem | None]]


def _first_of(paths: Any, in_sku: bool) -> tuple[Getter, bool]:
    """One path, or a list of paths of which the first present one counts."""
    if not isinstance(paths, list):
        return _compile_path(paths, in_sku)
    if not paths:
        raise ValueError("an empty list of master paths")
    compiled = [_compile_path(p, in_sku) for p in paths]
    getters = [g for g, _ in compiled]

    def first(product: Product, sku: SkuRecord | None) -> Any:
        for getter in getters:
            value = getter(product, sku)
            if value is not _MISSING:
                return value
        return _MISSING

    return first, any(f for _, f in compiled)


def _pick(values: list[Any], how: str) -> tuple[Any, Problem | None]:
    if how == "first":
        return values[0], None
    try:
        if how == "sum":
            return sum(values), None
        # Money compares as Decimal (never as text: "99.00" > "129.00" as strings).
        return (min(values) if how == "min" else max(values)), None
    except TypeError:
        return _MISSING, ("conversion", f"cannot take the {how} of {values!r}", None)


def _from(spec: Mapping[str, Any], in_sku: bool) -> Resolver:
    getter, _ = _first_of(spec["from"], in_sku)
    how, join = spec.get("pick"), spec.get("join")
    if how is not None and how not in _PICKS:
        raise ValueError(f"pick must be one of {', '.join(_PICKS)}, not {how!r}")
    if join is not None and not isinstance(join, str):
        raise ValueError("join must be text (the separator)")
    if how is None and join is None:
        return lambda product, sku, ctx: (_plain(getter(product, sku)), None)

    def resolve(product: Product, sku: SkuRecord | None, ctx: Mapping[str, Any]) -> Any:
        value = getter(product, sku)
        if value is not _MISSING and isinstance(value, list):
            if how is not None:
                value, problem = _pick(value, how)
                if problem is not None:
                    return _MISSING, problem
            elif join is not None:
                value = join.join(str(_plain(v)) for v in value)
        return _plain(value), None

    return resolve


def _const(spec: Mapping[str, Any], in_sku: bool) -> Resolver:
    value = spec["const"]
    if isinstance(value, dict | list):
        # A fresh copy each time: one product's payload never shares a list with another.
        def fresh(product: Product, sku: SkuRecord | None, ctx: Mapping[str, Any]) -> Any:
            return copy.deepcopy(value), None

        return fresh
    return lambda product, sku, ctx: (value, None)


def _map(spec: Mapping[str, Any], in_sku: bool) -> Resolver:
    body = spec["map"]
    if not isinstance(body, dict):
        raise ValueError("map needs an object: {from, values, default}")
    unknown = set(body) - {"from", "values", "default"}
    if unknown or "from" not in body or not isinstance(body.get("values"), dict):
        raise ValueError("map needs 'from' and a 'values' object (and may have 'default')")
    getter, _ = _first_of(body["from"], in_sku)
    values: dict[str, Any] = body["values"]
    default = body.get("default")
    known = ", ".join(values)
    source = body["from"] if isinstance(body["from"], str) else body["from"][0]

    def translate(value: Any) -> tuple[Any, Problem | None]:
        key = str(_plain(value))
        if key in values:
            return values[key], None
        if default is not None:
            return default, None
        message = f"{source} {key!r} has no value on this platform (mapped: {known})"
        return _MISSING, ("unmapped", message, key)

    def resolve(product: Product, sku: SkuRecord | None, ctx: Mapping[str, Any]) -> Any:
        value = getter(product, sku)
        if value is _MISSING:
            return _MISSING, None
        if not isinstance(value, list):
            return translate(value)
        out = []
        for item in value:
            mapped, problem = translate(item)
            if problem is not None:
                return _MISSING, problem
            out.append(mapped)
        return out, None

    return resolve


def _template(spec: Mapping[str, Any], in_sku: bool) -> Resolver:
    text = spec["template"]
    if not isinstance(text, str):
        raise ValueError("a template is text with {master.path} placeholders")
    parts: list[tuple[str, str | None, Getter | None]] = []
    for literal, name, fmt, conversion in string.Formatter().parse(text):
        if name is None:
            parts.append((literal, None, None))
            continue
        if fmt or conversion:
            raise ValueError(f"{{{name}}}: placeholders take no format or conversion")
        getter, fan = _compile_path(name, in_sku)
        if fan:
            raise ValueError(f"{{{name}}}: one value per placeholder; skus[] is for SKU lists")
        parts.append((literal, name, getter))

    def resolve(product: Product, sku: SkuRecord | None, ctx: Mapping[str, Any]) -> Any:
        out: list[str] = []
        lacking: list[str] = []
        for literal, name, getter in parts:
            out.append(literal)
            if getter is None or name is None:
                continue
            value = getter(product, sku)
            if value is _MISSING:
                lacking.append(name)
            else:
                out.append(str(_plain(value)))
        if lacking:
            return _MISSING, ("template", f"needs {', '.join(lacking)} (template {text!r})", None)
        return "".join(out), None

    return resolve


def _number(value: Decimal) -> int | float:
    """An exact decimal as JSON: an int when whole, else the float whose shortest text is
    that decimal (at most 17 significant digits, far more than any measure here)."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def _convert(spec: Mapping[str, Any], in_sku: bool) -> Resolver:
    body = spec["convert"]
    if not isinstance(body, dict):
        raise ValueError("convert needs an object: {from, unit}")
    unknown = set(body) - {"from", "unit", "pick"}
    if unknown or "from" not in body or body.get("unit") not in UNITS:
        units = ", ".join(UNITS)
        raise ValueError(f"convert needs 'from' and a 'unit' of {units} (and may have 'pick')")
    getter, _ = _first_of(body["from"], in_sku)
    factor, whole = UNITS[body["unit"]]
    how = body.get("pick")
    if how is not None and how not in _PICKS:
        raise ValueError(f"pick must be one of {', '.join(_PICKS)}, not {how!r}")

    def one(value: Any) -> tuple[Any, Problem | None]:
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            return _MISSING, ("conversion", f"{value!r} is not a number", value)
        result = Decimal(value) * factor
        if whole and result != result.to_integral_value():
            return _MISSING, ("conversion", f"{value} is not a whole number of fen", str(value))
        return _number(result), None

    def resolve(product: Product, sku: SkuRecord | None, ctx: Mapping[str, Any]) -> Any:
        value = getter(product, sku)
        if value is _MISSING:
            return _MISSING, None
        if not isinstance(value, list):
            return one(value)
        if how is not None:
            picked, problem = _pick(value, how)
            return (_MISSING, problem) if problem is not None else one(picked)
        out = []
        for item in value:
            converted, problem = one(item)
            if problem is not None:
                return _MISSING, problem
            out.append(converted)
        return out, None

    return resolve


def _setting(ctx: Mapping[str, Any], key: str) -> Any:
    """A shop setting by its literal key ("location.city" as the shops file writes it),
    else by walking nested objects."""
    if key in ctx:
        return ctx[key]
    value: Any = ctx
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _shop(spec: Mapping[str, Any], in_sku: bool) -> Resolver:
    key = spec["shop"]
    if not isinstance(key, str) or not key:
        raise ValueError("shop names a setting of the shop context, such as 'location.city'")
    per_sku, optional = spec.get("per_sku", False), spec.get("optional", False)
    if not isinstance(per_sku, bool) or not isinstance(optional, bool):
        raise ValueError("per_sku and optional are true or false")

    def lacking(what: str) -> tuple[Any, Problem | None]:
        if optional:
            return _MISSING, None
        return _MISSING, ("shop_setting", f"needs shop setting {what}", None)

    def resolve(product: Product, sku: SkuRecord | None, ctx: Mapping[str, Any]) -> Any:
        value = _setting(ctx, key)
        if value is _MISSING or value is None:
            return lacking(repr(key))
        if not per_sku:
            return copy.deepcopy(value) if isinstance(value, dict | list) else value, None
        if not isinstance(value, Mapping):
            return lacking(f"{key!r} as a table of SKU code -> value")
        if sku is not None:
            if sku.sku_code not in value:
                return lacking(f"{key!r} for SKU {sku.sku_code}")
            return value[sku.sku_code], None
        absent = [s.sku_code for s in product.skus if s.sku_code not in value]
        if absent:
            return lacking(f"{key!r} for SKU {', '.join(absent)}")
        return sum(value[s.sku_code] for s in product.skus), None

    return resolve


_KINDS: dict[str, Callable[[Mapping[str, Any], bool], Resolver]] = {
    "from": _from,
    "const": _const,
    "map": _map,
    "template": _template,
    "convert": _convert,
    "shop": _shop,
}


def _compile_mapping(spec: Any, in_sku: bool) -> Resolver:
    if not isinstance(spec, dict):
        raise ValueError(f"a mapping is an object such as {{'from': 'title'}}, not {spec!r}")
    kinds = [k for k in spec if k in _KINDS]
    if len(kinds) != 1:
        unknown = [k for k in spec if k not in _KINDS and k != "note"]
        if not kinds and unknown:
            raise ValueError(
                f"unknown mapping kind {unknown[0]!r} (kinds: {', '.join(MAPPING_KINDS)})"
            )
        raise ValueError(f"a mapping has exactly one kind of {', '.join(MAPPING_KINDS)}")
    kind = kinds[0]
    extra = set(spec) - {kind, "note"} - _MODIFIERS[kind]
    if extra:
        raise ValueError(f"{kind} mapping: unknown key {sorted(extra)[0]!r}")
    return _KINDS[kind](spec, in_sku)


# --- the builder ---------------------------------------------------------------------------


def _split_name(name: str) -> tuple[str, ...]:
    parts = tuple(name.split("."))
    if not name or any(not p for p in parts):
        raise ValueError(f"{name!r} is not a payload field name (dotted names nest objects)")
    return parts


def _parents(paths: Sequence[tuple[str, ...]]) -> tuple[tuple[str, ...], ...]:
    """Every object the dotted names nest into, outermost first."""
    found = {path[:k] for path in paths for k in range(1, len(path))}
    return tuple(sorted(found, key=lambda p: (len(p), p)))


def _frame(parents: tuple[tuple[str, ...], ...]) -> tuple[dict[str, Any], dict[Loc, Any]]:
    """A new document with its nested objects, and each object by its path."""
    doc: dict[str, Any] = {}
    objects: dict[Loc, Any] = {(): doc}
    for parent in parents:
        objects[parent] = objects[parent[:-1]][parent[-1]] = {}
    return doc, objects


@dataclass(frozen=True)
class _Field:
    path: tuple[str, ...]
    resolve: Resolver


@dataclass(frozen=True)
class _SkuList:
    path: tuple[str, ...]
    fields: tuple[_Field, ...]


class PayloadBuilder:
    """Compiled mappings of one platform category: `build` makes a product's payload."""

    def __init__(self, fields: tuple[_Field, ...], sku_lists: tuple[_SkuList, ...]) -> None:
        # Objects the mappings nest into exist in every payload, so a schema's `required`
        # inside them names each missing field (location.city), not only `location`.
        self._parents = _parents([f.path for f in fields] + [s.path for s in sku_lists])
        self._fields = tuple((f.path[:-1], f.path[-1], f.path, f.resolve) for f in fields)
        self._sku_lists = tuple(
            (
                s.path,
                _parents([f.path for f in s.fields]),
                tuple((f.path[:-1], f.path[-1], f.path, f.resolve) for f in s.fields),
            )
            for s in sku_lists
        )

    def build(self, product: Product, shop_context: Mapping[str, Any] | None = None) -> Payload:
        ctx: Mapping[str, Any] = shop_context or {}
        doc, objects = _frame(self._parents)
        issues: list[FieldIssue] = []
        for parent, name, path, resolve in self._fields:
            value, problem = resolve(product, None, ctx)
            if problem is not None:
                issues.append(_issue(path, problem))
            elif value is not _MISSING:
                objects[parent][name] = value
        codes = [s.sku_code for s in product.skus]
        sku_codes: dict[Loc, list[str]] = {}
        for list_path, item_parents, item_fields in self._sku_lists:
            items: list[dict[str, Any]] = []
            for index, sku in enumerate(product.skus):
                item, inner = _frame(item_parents)
                for parent, name, path, resolve in item_fields:
                    value, problem = resolve(product, sku, ctx)
                    if problem is not None:
                        loc: Loc = (*list_path, index, *path)
                        issues.append(_issue(loc, problem, {list_path: codes}))
                    elif value is not _MISSING:
                        inner[parent][name] = value
                items.append(item)
            objects[list_path[:-1]][list_path[-1]] = items
            sku_codes[list_path] = codes
        return Payload(doc, issues, sku_codes)


def _issue(loc: Loc, problem: Problem, codes: Mapping[Loc, list[str]] | None = None) -> FieldIssue:
    rule, message, value = problem
    return FieldIssue(field_path(loc, codes), rule, message, value, loc)


def compile_builder(fields: Any, sku_fields: Any = None) -> PayloadBuilder:
    """Compile a data file's `fields` and `sku_fields`; MappingError lists every mapping
    that cannot be compiled, by its key path (`fields.title`, `sku_fields.skus.price`)."""
    problems: list[tuple[str, str]] = []
    compiled: list[_Field] = []
    lists: list[_SkuList] = []
    if not isinstance(fields, dict):
        raise MappingError([("fields", "an object of payload field -> mapping")])
    for name, spec in fields.items():
        try:
            compiled.append(_Field(_split_name(name), _compile_mapping(spec, in_sku=False)))
        except ValueError as err:
            problems.append((f"fields.{name}", str(err)))
    if sku_fields is not None and not isinstance(sku_fields, dict):
        problems.append(("sku_fields", "an object of SKU list field -> its item mappings"))
        sku_fields = None
    for list_name, item_fields in (sku_fields or {}).items():
        key = f"sku_fields.{list_name}"
        if not isinstance(item_fields, dict) or not item_fields:
            problems.append((key, "an object of item field -> mapping"))
            continue
        items: list[_Field] = []
        for name, spec in item_fields.items():
            try:
                items.append(_Field(_split_name(name), _compile_mapping(spec, in_sku=True)))
            except ValueError as err:
                problems.append((f"{key}.{name}", str(err)))
        try:
            lists.append(_SkuList(_split_name(list_name), tuple(items)))
        except ValueError as err:
            problems.append((key, str(err)))
    if problems:
        raise MappingError(problems)
    return PayloadBuilder(tuple(compiled), tuple(lists))
