"""The numeric fields of a pydantic model, found from its annotations (so a new rule type
or snapshot field is covered without a hand list), documents with one of them set, and
the extreme numbers the bounds tests drive them through (engine/core/limits.py)."""

from __future__ import annotations

import types
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from annotated_types import Le
from pydantic import AwareDatetime, BaseModel
from pydantic.fields import FieldInfo

from engine.core.limits import (
    MAX_BUNDLE_QTY,
    MAX_DAYS,
    MAX_FACTOR,
    MAX_MONEY,
    MAX_PRIORITY,
    MAX_UNITS,
    MAX_VELOCITY,
    MAX_WEIGHT,
)
from engine.core.plan import Plan
from engine.core.snapshot import Snapshot
from rules.catalog import Bundle, Ruleset

EACH_ITEM, EACH_VALUE = "[]", "{}"  # path steps: every item of a list, value of a map
NUMBERS = (int, float, Decimal)

# Every bound and just beyond it, the integer and float edges, and what JSON can carry
# besides (inf and nan, which Python's json reads; numbers as strings).
EXTREMES: list[Any] = [
    0,
    1,
    MAX_BUNDLE_QTY,
    MAX_BUNDLE_QTY + 1,
    -1,
    0.5,
    5e-324,
    True,
    MAX_UNITS,
    MAX_UNITS + 1,
    MAX_DAYS,
    MAX_DAYS + 0.001,
    MAX_VELOCITY,
    MAX_VELOCITY * 1.001,
    MAX_FACTOR,
    MAX_FACTOR + 0.001,
    MAX_WEIGHT,
    MAX_WEIGHT * 1.001,
    MAX_PRIORITY,
    MAX_PRIORITY + 1,
    -MAX_PRIORITY - 1,
    f"{MAX_MONEY:.2f}",
    f"{MAX_MONEY + Decimal('0.01'):.2f}",
    "0.001",
    "1.5",
    2**31,
    2**53,
    2**53 + 1,
    2**63,
    2**64,
    -(2**63) - 1,
    10**18,
    10**19,
    1e18,
    1e19,
    1e308,
    -1e308,
    float("inf"),
    float("-inf"),
    float("nan"),
    "1e30",
    "1e400",
    "1" + "0" * 400,
    10**400,
]
# Beyond every bound: each field must refuse these.
BEYOND_EVERY_BOUND: list[Any] = [2**64, 1e308, "1e400"]


@dataclass(frozen=True)
class NumericField:
    """One numeric field: its path (field names, EACH_ITEM, EACH_VALUE) and its declared
    upper bound (`le`), when the annotation declares one."""

    path: tuple[str, ...]
    upper: int | float | Decimal | None

    @property
    def name(self) -> str:
        """The last field name on the path (what an error about it must name)."""
        return [step for step in self.path if step not in (EACH_ITEM, EACH_VALUE)][-1]

    def __str__(self) -> str:
        return ".".join(self.path).replace(f".{EACH_ITEM}", EACH_ITEM)


def numeric_fields(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[NumericField]:
    """Every numeric field of the model and of the models it holds."""
    out: list[NumericField] = []
    for name, info in model.model_fields.items():
        out += _walk(info.annotation, list(info.metadata), (*prefix, name))
    return out


def _walk(tp: Any, metadata: list[Any], path: tuple[str, ...]) -> list[NumericField]:
    origin = get_origin(tp)
    if origin is Annotated:
        base, *extra = get_args(tp)
        inner = [m for e in extra for m in (e.metadata if isinstance(e, FieldInfo) else [e])]
        return _walk(base, metadata + inner, path)
    if origin in (Union, types.UnionType):
        return [f for arg in get_args(tp) if arg is not type(None) for f in _walk(arg, [], path)]
    if origin is list:
        return _walk(get_args(tp)[0], [], (*path, EACH_ITEM))
    if origin is dict:
        return _walk(get_args(tp)[1], [], (*path, EACH_VALUE))
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return numeric_fields(tp, path)
    if tp in NUMBERS:  # bool is a type of its own here, not int
        upper = next((m.le for m in metadata if isinstance(m, Le)), None)
        assert upper is None or isinstance(upper, NUMBERS), upper
        return [NumericField(path, upper)]
    return []


def just_beyond(bound: int | float | Decimal) -> int | float | str:
    """The smallest step past a bound that a field of its kind can carry."""
    if isinstance(bound, Decimal):
        return f"{bound + Decimal('0.01'):.2f}"
    if isinstance(bound, int):
        return bound + 1
    return bound * (1 + 1e-9)


# What a document builder fills in for a string: the id of the kind `refs` names.
Naming = Callable[[str], str]


def fill(
    model: type[BaseModel],
    naming: Naming,
    target: tuple[str, ...] = (),
    value: Any = None,
    extra: str | None = None,
    where: str = "",
) -> dict[str, Any]:
    """A document of `model` with its required fields (and `extra`) filled in, and
    `value` at the path `target`. `naming(field path)` names the id a string field
    takes; numbers are 1 unless targeted."""
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if target and target[0] == name:
            out[name] = _fill(info.annotation, naming, target[1:], value, f"{where}{name}")
        elif info.is_required() or name == extra:
            out[name] = _fill(info.annotation, naming, (), None, f"{where}{name}")
    return out


def _fill(tp: Any, naming: Naming, target: tuple[str, ...], value: Any, where: str) -> Any:
    origin = get_origin(tp)
    if origin is Annotated:
        return _fill(get_args(tp)[0], naming, target, value, where)
    if origin in (Union, types.UnionType):
        first = next(arg for arg in get_args(tp) if arg is not type(None))
        return _fill(first, naming, target, value, where)
    if origin is list:
        item = get_args(tp)[0]
        # `refs` writes a list of models' fields as `a[].b`, a list of ids as `a`.
        inner = f"{where}[]." if isinstance(item, type) and issubclass(item, BaseModel) else where
        return [_fill(item, naming, target[1:], value, inner)]
    if origin is dict:
        key_type, value_type = get_args(tp)
        key = get_args(key_type)[0] if get_origin(key_type) is Literal else naming(where)
        return {key: _fill(value_type, naming, target[1:], value, where)}
    if origin is Literal:
        return get_args(tp)[0]
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return fill(tp, naming, target, value, where=where)
    if not target and value is not None:
        return value
    if tp in NUMBERS:
        return 1
    if tp in (datetime, AwareDatetime):
        return "2026-01-01T00:00:00+08:00"
    if tp is bool:
        return False
    return naming(where.removesuffix("."))


def holds(data: Any, path: tuple[str, ...]) -> bool:
    """Whether plain data has a value at `path` (in some list item or map value)."""
    if not path:
        return True
    head, rest = path[0], path[1:]
    if head in (EACH_ITEM, EACH_VALUE):
        items = data if isinstance(data, list) else list(data.values())
        return any(holds(item, rest) for item in items)
    return isinstance(data, dict) and head in data and holds(data[head], rest)


def set_at(data: Any, path: tuple[str, ...], value: Any) -> bool:
    """Set `value` at `path` in plain data: in the first list item or map value that has
    a value there already, else in the first one that has a place for it; False when
    none has."""
    head, rest = path[0], path[1:]
    if head in (EACH_ITEM, EACH_VALUE):
        keys = list(range(len(data))) if isinstance(data, list) else list(data)
        if not rest:
            if keys:
                data[keys[0]] = value
            return bool(keys)
        keys.sort(key=lambda k: not holds(data[k], rest))  # stable: in order otherwise
        return any(set_at(data[k], rest, value) for k in keys)
    if not rest:
        data[head] = value
        return True
    return head in data and set_at(data[head], rest, value)


def assert_bundles_hold(snapshot: Snapshot, ruleset: Ruleset, plan: Plan) -> None:
    """The invariants of a plan with bundles (tests/invariants.py does not know them):
    whole non-negative numbers, and per component, its own listings plus `qty` for
    every bundle made beyond the bundle's own stock within its pool."""
    made_of = {s.id: {c.sku: c.qty for c in s.components} for s in snapshot.skus}
    for rule in ruleset.rules:
        if isinstance(rule, Bundle):
            made_of[rule.sku] = {c.sku: c.qty for c in rule.components}
    pool = {p.sku: p.sellable + p.virtual for p in plan.skus}
    used: dict[str, int] = defaultdict(int)
    for a in plan.allocations:
        assert isinstance(a.quantity, int) and a.quantity >= 0, a
        assert isinstance(a.shared, int) and a.shared >= 0, a
        used[a.sku] += a.quantity
    for p in plan.skus:
        used[p.sku] += max((a.shared for a in plan.allocations if a.sku == p.sku), default=0)
    drawn = dict(used)
    for bundle, parts in made_of.items():
        made = max(used[bundle] - pool.get(bundle, 0), 0)
        drawn[bundle] = used[bundle] - made
        for part, qty in parts.items():
            drawn[part] = drawn.get(part, 0) + qty * made
    for sku, units in drawn.items():
        assert units <= pool.get(sku, 0), f"SKU {sku}: {units} drawn from a pool of {pool}"
