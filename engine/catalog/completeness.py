"""Is a product ready to list on a platform? Its payload checked against the platform
category's JSON Schema: every issue at once, and a score.

`check` finds the product's category on the platform (engine/catalog/registry.py), makes
the payload (engine/catalog/payload.py) and validates it with jsonschema (draft 2020-12,
URLs checked, Taobao's title width as the custom keyword `x-maxWidth`). The score is the
share of the required fields (top level, per SKU, and those of conditions that hold)
that are present and valid; 1.0 means ready. `blockers` is the brand's view: which
fields stop most products, most common first.

Speed: a brand checks thousands of products on five platforms at once. Each schema is
compiled once into a tree of nodes, one per object, list and property. A value its
property's schema plainly accepts (text within bounds, a value from the list) is passed
by a small predicate; anything else goes to jsonschema, whose answers are kept per value
where values repeat (a material, a season). An object's own keywords (required,
conditions) are kept per the names present and the values the conditions read. The
errors are those of jsonschema validating the whole payload (a test holds the two to
each other).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from numbers import Number
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators
from jsonschema.protocols import Validator

from engine.catalog.model import Product
from engine.catalog.payload import FieldIssue, Loc, Payload, field_path
from engine.catalog.registry import WIDTH_KEYWORD, PlatformSchema, Registry

__all__ = [
    "Blocker",
    "FieldIssue",
    "PlatformCheck",
    "blockers",
    "check",
    "check_products",
    "text_width",
    "validate",
]


# --- the width keyword and the URL format ------------------------------------------------


_WIDE = re.compile(r"[^\x00-\x7f]")


@lru_cache(maxsize=8192)
def _char_width(char: str) -> int:
    return 1 if unicodedata.east_asian_width(char) in ("Na", "H") else 2


def text_width(text: str) -> int:
    """A title's width as Taobao counts it: ASCII (and other narrow or half-width
    characters) 1, a Chinese or full-width character 2."""
    if text.isascii():
        return len(text)
    others = _WIDE.findall(text)
    return len(text) - len(others) + sum(map(_char_width, others))


def _max_width(
    validator: Validator, limit: int, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if isinstance(instance, str) and len(instance) * 2 > limit:  # cheap test first
        width = text_width(instance)
        if width > limit:
            yield ValidationError(
                f"{width} wide (a Chinese character counts 2), the limit is {limit}"
            )


# An absolute URI: a scheme, no white space; a web address also names its host.
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S*")
_WEB_SCHEME = re.compile(r"https?:", re.IGNORECASE)
_WEB = re.compile(r"https?://[^\s/?#@]+(?:[/?#]\S*)?", re.IGNORECASE)


def _is_uri(value: object) -> bool:
    """The "uri" format (jsonschema checks it only with an extra package, so it is
    checked here)."""
    if not isinstance(value, str):
        return True
    if _WEB_SCHEME.match(value):
        return _WEB.fullmatch(value) is not None
    return _URI.fullmatch(value) is not None


_FORMATS = FormatChecker()
_FORMATS.checks("uri")(_is_uri)
_Validator = validators.extend(Draft202012Validator, {WIDTH_KEYWORD: _max_width})


# --- schema errors in the project's words --------------------------------------------------


@dataclass(frozen=True)
class _Error:
    """A schema error relative to the value that was validated."""

    loc: Loc
    rule: str
    message: str
    value: Any
    missing: bool  # a required field that is absent (a mapping issue may explain it)

    def under(self, key: str | int) -> _Error:
        return _Error((key, *self.loc), self.rule, self.message, self.value, self.missing)


def _shown(values: Sequence[Any], most: int = 8) -> str:
    head = ", ".join(str(v) for v in values[:most])
    return head + (f" and {len(values) - most} more" if len(values) > most else "")


def _message(err: ValidationError) -> str:
    kw, want, value = err.validator, err.validator_value, err.instance
    if kw == "enum":
        return f"{value!r} is not an allowed value ({_shown(want)})"
    if kw == "const":
        return f"must be {want!r}"
    if kw in ("maxLength", "minLength"):
        word = "longer" if kw == "maxLength" else "shorter"
        return f"{len(value)} characters, {word} than the limit of {want}"
    if kw in ("maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum"):
        side = "maximum" if "Max" in kw or kw == "maximum" else "minimum"
        strict = " (exclusive)" if kw.startswith("exclusive") else ""
        return f"{value} is beyond the {side} {want}{strict}"
    if kw == "maxItems":
        return f"{len(value)} items, at most {want}"
    if kw == "minItems":
        return f"{len(value)} items, at least {want}"
    if kw == "format":
        return f"{value!r} is not a valid {'URL' if want == 'uri' else want}"
    if kw == "type":
        return f"must be of type {want if isinstance(want, str) else ' or '.join(want)}"
    if kw == "pattern":
        return f"{value!r} does not match {want}"
    return str(err.message)


def _condition(schema: Any, schema_path: Iterable[Any]) -> Mapping[str, Any] | None:
    """The if/then that an error's schema path runs through, if any."""
    found = None
    node = schema
    for part in schema_path:
        if part in ("then", "else") and isinstance(node, dict) and "if" in node:
            found = node
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
    return found


def _missing(err: ValidationError) -> str:
    """The field a `required` error is about (jsonschema gives one error per field)."""
    absent = [n for n in err.validator_value if n not in err.instance]
    named = [n for n in absent if err.message == f"{n!r} is a required property"]
    return str((named or absent or [""])[0])


def _dependency(err: ValidationError) -> tuple[str, str]:
    """The field given and the field it needs, of a `dependentRequired` error."""
    pairs = [
        (t, d)
        for t, deps in err.validator_value.items()
        if t in err.instance
        for d in deps
        if d not in err.instance
    ]
    named = [(t, d) for t, d in pairs if err.message == f"{d!r} is a dependency of {t!r}"]
    return (named or pairs or [("", "")])[0]


def _errors(raw: Iterable[ValidationError], schema: Any) -> list[_Error]:
    out: list[_Error] = []
    for err in raw:
        loc: Loc = tuple(err.path)
        cond = _condition(schema, err.schema_path)
        why = f": {cond['description']}" if cond and cond.get("description") else ""
        kw = str(err.validator)
        if kw == "required":
            rule = "if-then" if cond else "required"
            message = f"required{why}" if cond else "required field is missing"
            out.append(_Error((*loc, _missing(err)), rule, message, None, True))
        elif kw == "dependentRequired":
            trigger, name = _dependency(err)
            message = f"required when {trigger} is given"
            out.append(_Error((*loc, name), "dependentRequired", message, None, True))
        else:
            rule = "if-then" if cond else kw.removeprefix("x-")
            out.append(_Error(loc, rule, _message(err) + why, err.instance, False))
    return out


# --- a fast yes for values that are plainly valid --------------------------------------
#
# Most values of most payloads are valid, and jsonschema spends tens of microseconds to
# say so for each. A schema made only of the simple keywords below gets a predicate that
# answers "certainly valid" in a microsecond; any other answer (or any other keyword)
# goes to jsonschema, so every reported error is still jsonschema's own.

_ANNOTATIONS = frozenset(
    {"title", "description", "$comment", "examples", "default", "deprecated", "readOnly",
     "writeOnly"}
)  # fmt: skip
Check = Callable[[Any], bool]


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


_TYPES: dict[str, Check] = {
    "string": lambda v: isinstance(v, str),
    "integer": _is_int,
    "number": _is_num,
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def _members(values: Any) -> Check | None:
    """enum/const over text or over whole numbers only (where Python's == is JSON's)."""
    if not isinstance(values, list) or not values:
        return None
    if all(isinstance(v, str) for v in values):
        texts = frozenset(values)
        return lambda v: type(v) is str and v in texts
    if all(_is_int(v) for v in values):
        ints = frozenset(values)
        return lambda v: type(v) is int and v in ints
    return None


def _not_number(v: Any) -> bool:
    """Certainly not a JSON Schema number (a Decimal is one, but unsure here: False)."""
    return isinstance(v, bool) or not isinstance(v, Number)


def _bound(kw: str, n: Any) -> Check | None:
    if not _is_num(n):
        return None
    tests: dict[str, Check] = {
        "minimum": lambda v: _not_number(v) or (_is_num(v) and v >= n),
        "maximum": lambda v: _not_number(v) or (_is_num(v) and v <= n),
        "exclusiveMinimum": lambda v: _not_number(v) or (_is_num(v) and v > n),
        "exclusiveMaximum": lambda v: _not_number(v) or (_is_num(v) and v < n),
        "minLength": lambda v: not isinstance(v, str) or len(v) >= n,
        "maxLength": lambda v: not isinstance(v, str) or len(v) <= n,
        "minItems": lambda v: not isinstance(v, list) or len(v) >= n,
        "maxItems": lambda v: not isinstance(v, list) or len(v) <= n,
        "minProperties": lambda v: not isinstance(v, dict) or len(v) >= n,
        "maxProperties": lambda v: not isinstance(v, dict) or len(v) <= n,
        WIDTH_KEYWORD: lambda v: not isinstance(v, str) or text_width(v) <= n,
    }
    return tests.get(kw)


def _keyword(kw: str, want: Any) -> Check | None:
    if kw == "type":
        names = [want] if isinstance(want, str) else want
        if not isinstance(names, list) or not all(n in _TYPES for n in names):
            return None
        tests = [_TYPES[n] for n in names]
        if len(tests) == 1:
            return tests[0]
        return lambda v: any(t(v) for t in tests)
    if kw in ("enum", "const"):
        return _members(want if kw == "enum" else [want])
    if kw == "pattern" and isinstance(want, str):
        search = re.compile(want).search
        return lambda v: not isinstance(v, str) or search(v) is not None
    if kw == "format" and want == "uri":
        return _is_uri
    if kw == "required" and isinstance(want, list):
        names = tuple(want)
        return lambda v: not isinstance(v, dict) or all(n in v for n in names)
    if kw == "dependentRequired" and isinstance(want, dict):
        rules = tuple((t, tuple(d)) for t, d in want.items())
        return lambda v: (
            not isinstance(v, dict) or all(all(d in v for d in deps) for t, deps in rules if t in v)
        )
    return _bound(kw, want)


def _fast(schema: Any) -> Check | None:
    """A predicate true only for values the schema certainly accepts, or None when the
    schema uses a keyword it does not know."""
    if schema is True:
        return lambda v: True
    if not isinstance(schema, dict):
        return None
    rules = {k: v for k, v in schema.items() if k not in _ANNOTATIONS}
    shaped = _shaped(rules)
    if shaped is not None:
        return shaped
    tests: list[Check] = []
    for kw, want in rules.items():
        test = _keyword(kw, want)
        if test is None:
            return None
        tests.append(test)
    return _all(tests)


_TEXT_RULES = frozenset({"type", "minLength", "maxLength", "pattern", "format", WIDTH_KEYWORD})


def _shaped(rules: dict[str, Any]) -> Check | None:
    """One function for the commonest leaf shapes (a value list, bounded text, a bounded
    whole number): most fields of a payload are one of them."""
    kind, keys = rules.get("type"), set(rules)
    if keys <= {"type", "enum"} and "enum" in keys and kind in (None, "string"):
        texts = rules["enum"]
        if isinstance(texts, list) and all(isinstance(t, str) for t in texts):
            allowed = frozenset(texts)
            return lambda v: type(v) is str and v in allowed
    if kind == "string" and keys <= _TEXT_RULES and rules.get("format", "uri") == "uri":
        lo, hi = rules.get("minLength", 0), rules.get("maxLength")
        width = rules.get(WIDTH_KEYWORD)
        search = re.compile(rules["pattern"]).search if "pattern" in rules else None
        uri = "format" in rules
        if not all(_is_int(n) for n in (lo, hi if hi is not None else 0, width or 0)):
            return None

        def text(v: Any) -> bool:
            if type(v) is not str:
                return False
            n = len(v)
            if n < lo or (hi is not None and n > hi):
                return False
            if search is not None and search(v) is None:
                return False
            if uri and not _is_uri(v):
                return False
            # A character is at most 2 wide: n * 2 within the limit needs no count.
            return width is None or n * 2 <= width or text_width(v) <= width

        return text
    if kind == "integer" and keys <= {"type", "minimum", "maximum"}:
        lo, hi = rules.get("minimum"), rules.get("maximum")
        if not all(n is None or _is_num(n) for n in (lo, hi)):
            return None
        return lambda v: type(v) is int and (lo is None or v >= lo) and (hi is None or v <= hi)
    if kind == "boolean" and keys == {"type"}:
        return lambda v: v is True or v is False
    return None


def _all(tests: list[Check]) -> Check:
    if not tests:
        return lambda v: True
    if len(tests) == 1:
        return tests[0]
    first, rest = tests[0], _all(tests[1:])
    return lambda v: first(v) and rest(v)


# --- validation, compiled per schema -------------------------------------------------------

# A node's answer for a value: the errors (relative to the value), and how many required
# fields (top level, per SKU, conditions that hold) the value has under it.
Run = tuple[list[_Error], int]
_NOTHING: Run = ([], 0)
_TAG = {bool: "b", int: "i", float: "f"}


def _freeze(value: Any) -> Any:
    """A hashable key equal only for equal JSON values (True, 1 and 1.0 kept apart)."""
    kind = type(value)
    if kind is str or value is None:
        return value
    if kind in _TAG:
        return (_TAG[kind], value)
    if kind is list:
        return ("l", *map(_freeze, value))
    if kind is dict:
        return ("d", *((k, _freeze(v)) for k, v in value.items()))
    raise TypeError(kind)


class _Memo:
    """Results per value where values repeat (a material, a season, a brand's attribute
    set); it turns itself off where they do not (titles, SKU codes)."""

    LIMIT, TRIAL = 4096, 512

    def __init__(self) -> None:
        self.on = True
        self._seen: dict[Any, Any] = {}
        self._tries = self._hits = 0

    def get(self, key: Any) -> Any:
        found = self._seen.get(key)
        self._tries += 1
        if found is not None:
            self._hits += 1
        elif self._tries >= self.TRIAL and self._hits * 8 < self._tries:
            self.on, self._seen = False, {}
        return found

    def put(self, key: Any, found: Any) -> None:
        if len(self._seen) >= self.LIMIT:
            self._seen.clear()
        self._seen[key] = found


class _Node:
    """Validation of one subschema by jsonschema, kept per value."""

    def __init__(self, root: Validator, schema: Any) -> None:
        self._schema = schema
        self._whole = root.evolve(schema=schema)
        self._memo = _Memo()

    def run(self, instance: Any) -> Run:
        if not self._memo.on:
            return self._run(instance)
        try:
            key = _freeze(instance)
        except TypeError:  # not a JSON value (a Decimal): validated, not kept
            return self._run(instance)
        found: Run | None = self._memo.get(key)
        if found is None:
            found = self._run(instance)
            if self._memo.on:
                self._memo.put(key, found)
        return found

    def _run(self, instance: Any) -> Run:
        return _errors(self._whole.iter_errors(instance), self._schema), 0


class _Leaf(_Node):
    def __init__(self, root: Validator, schema: Any) -> None:
        super().__init__(root, schema)
        self.valid = _fast(schema)

    def run(self, instance: Any) -> Run:
        if self.valid is not None and self.valid(instance):
            return _NOTHING
        return super().run(instance)


@dataclass(frozen=True)
class _Conditional:
    holds: Callable[[Any], bool]
    then: tuple[str, ...]
    otherwise: tuple[str, ...]


def _required(branch: Any) -> tuple[str, ...]:
    names = branch.get("required", []) if isinstance(branch, dict) else []
    return tuple(n for n in names if isinstance(n, str))


# Keywords of an object's own schema (and the subschemas it applies to the same object)
# whose result depends only on which names are present and on the values of the names
# listed under some "properties": their result is kept per (names, those values).
_BY_NAMES = frozenset(
    {"type", "required", "dependentRequired", "minProperties", "maxProperties",
     "propertyNames", "properties", "allOf", "anyOf", "oneOf", "not", "if", "then", "else",
     "dependentSchemas"}
)  # fmt: skip


def _reads(schema: Any, names: set[str]) -> bool:
    """Collect the property names whose values the schema reads; False when it reads
    more than names and those values (an enum of whole objects, patternProperties)."""
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, dict):
        return False
    for kw, want in schema.items():
        if kw in _ANNOTATIONS:
            continue
        if kw not in _BY_NAMES:
            return False
        if kw == "properties" and isinstance(want, dict):
            names.update(want)
        elif kw in ("allOf", "anyOf", "oneOf"):
            if not isinstance(want, list) or not all(_reads(s, names) for s in want):
                return False
        elif kw in ("not", "if", "then", "else"):
            if not _reads(want, names):
                return False
        elif kw == "dependentSchemas" and (
            not isinstance(want, dict) or not all(_reads(s, names) for s in want.values())
        ):
            return False
    return True


_ABSENT = object()
_UNKNOWN = "not a field of this platform category"
Own = tuple[list[_Error], tuple[str, ...]]  # the object's own errors, its required names


class _Object(_Node):
    """An object schema, split: its own keywords here, each property in its own node."""

    def __init__(self, root: Validator, schema: dict[str, Any]) -> None:
        super().__init__(root, schema)
        props: dict[str, Any] = schema["properties"]
        own = {k: v for k, v in schema.items() if k != "properties"}
        # additionalProperties depends on the property names: checked here, by name,
        # unless patternProperties also decides what is additional.
        self._extra: _Node | None = None
        self._closed = False
        if "additionalProperties" in own and "patternProperties" not in own:
            extra = own.pop("additionalProperties")
            self._closed = extra is False
            if not isinstance(extra, bool):
                self._extra = _compile(root, extra)
        elif "additionalProperties" in own:
            own["properties"] = dict.fromkeys(props, True)
        self._own = root.evolve(schema=own)
        self._own_valid = _fast(own)
        reads: set[str] = set()
        self._reads = tuple(sorted(reads)) if _reads(own, reads) else None
        self._own_memo = _Memo()
        self.children = {name: _compile(root, sub) for name, sub in props.items()}
        self._quick = {
            name: child.valid
            for name, child in self.children.items()
            if isinstance(child, _Leaf) and child.valid is not None
        }
        self._required = _required(schema)
        dependent = schema.get("dependentRequired", {})
        self._dependent = dependent if isinstance(dependent, dict) else {}
        conds = [schema, *(s for s in schema.get("allOf", []) if isinstance(s, dict))]
        self._conditionals = [
            _Conditional(
                root.evolve(schema=c["if"]).is_valid,
                _required(c.get("then")),
                _required(c.get("else")),
            )
            for c in conds
            if "if" in c
        ]

    def run(self, instance: Any) -> Run:
        return self._run(instance)  # its parts keep their own results

    def required(self, instance: dict[str, Any]) -> tuple[str, ...]:
        """The names this object requires: always, by dependency, by conditions that hold."""
        return self._own_run(instance)[1]

    def _names(self, instance: dict[str, Any], conditions: bool) -> tuple[str, ...]:
        names = list(self._required)
        for trigger, dependents in self._dependent.items():
            if trigger in instance:
                names.extend(dependents)
        for cond in self._conditionals if conditions else ():
            names.extend(cond.then if cond.holds(instance) else cond.otherwise)
        return tuple(dict.fromkeys(names))

    def _own_run(self, instance: dict[str, Any]) -> Own:
        if not self._conditionals and self._own_valid is not None and self._own_valid(instance):
            return [], self._names(instance, conditions=False)
        key = None
        if self._reads is not None and self._own_memo.on:
            try:
                values = tuple(
                    _freeze(instance[n]) if n in instance else _ABSENT for n in self._reads
                )
                key = (tuple(instance), values)
            except TypeError:  # not a JSON value: validated, not kept
                key = None
            found: Own | None = self._own_memo.get(key) if key is not None else None
            if found is not None:
                return found
        errors: list[_Error] = []
        if self._own_valid is None or not self._own_valid(instance):
            errors = _errors(self._own.iter_errors(instance), self._schema)
        own = errors, self._names(instance, conditions=True)
        if key is not None and self._own_memo.on:
            self._own_memo.put(key, own)
        return own

    def _run(self, instance: Any) -> Run:
        if not isinstance(instance, dict):
            return super()._run(instance)
        own_errors, names = self._own_run(instance)
        errors, count = list(own_errors), len(names)
        quick = self._quick
        for name, value in instance.items():
            valid = quick.get(name)
            if valid is not None and valid(value):
                continue  # a plainly valid leaf: nothing to report, nothing required
            child = self.children.get(name)
            if child is None:
                if self._closed:
                    errors.append(_Error((name,), "additionalProperties", _UNKNOWN, value, False))
                    continue
                child = self._extra
            if child is not None:
                found, under = child.run(value)
                errors.extend(e.under(name) for e in found)
                count += under
        return errors, count


class _Array(_Node):
    def __init__(self, root: Validator, schema: dict[str, Any]) -> None:
        super().__init__(root, schema)
        own = {k: v for k, v in schema.items() if k != "items"}
        self._own = root.evolve(schema=own)
        self._own_valid = _fast(own)
        self.item = _compile(root, schema["items"])

    def run(self, instance: Any) -> Run:
        return self._run(instance)

    def _run(self, instance: Any) -> Run:
        if not isinstance(instance, list):
            return super()._run(instance)
        errors: list[_Error] = []
        if self._own_valid is None or not self._own_valid(instance):
            errors = _errors(self._own.iter_errors(instance), self._schema)
        count = 0
        for index, item in enumerate(instance):
            found, under = self.item.run(item)
            errors.extend(e.under(index) for e in found)
            count += under
        return errors, count


def _slots_on(node: _Node, doc: Any, loc: Loc) -> Iterator[Loc]:
    """The required fields on the way to loc (location, then location.city)."""
    value = doc
    for k, part in enumerate(loc):
        if isinstance(node, _Object) and isinstance(value, dict) and isinstance(part, str):
            if part in node.required(value):
                yield loc[: k + 1]
            child = node.children.get(part)
            if child is None or part not in value:
                return
            node, value = child, value[part]
        elif isinstance(node, _Array) and isinstance(value, list) and isinstance(part, int):
            if not 0 <= part < len(value):
                return
            node, value = node.item, value[part]
        else:
            return


# Keywords whose result depends on what other keywords of the same object evaluated: a
# schema using them is validated whole, never split.
_WHOLE_OBJECT = ("unevaluatedProperties", "$dynamicRef", "$ref")
_WHOLE_ARRAY = ("unevaluatedItems", "prefixItems", "contains", "$dynamicRef", "$ref")


def _compile(root: Validator, schema: Any) -> _Node:
    if isinstance(schema, dict):
        if isinstance(schema.get("properties"), dict) and not any(
            k in schema for k in _WHOLE_OBJECT
        ):
            return _Object(root, schema)
        if isinstance(schema.get("items"), dict) and not any(k in schema for k in _WHOLE_ARRAY):
            return _Array(root, schema)
    return _Leaf(root, schema)


_COMPILED: dict[str, _Node] = {}


def _compiled(schema: PlatformSchema) -> _Node:
    node = _COMPILED.get(schema.content_hash)
    if node is None:
        root = _Validator(schema.schema, format_checker=_FORMATS)
        node = _COMPILED[schema.content_hash] = _compile(root, schema.schema)
    return node


def _issues(
    errors: list[_Error], payload: Payload | None, codes: Mapping[Loc, list[str]]
) -> list[FieldIssue]:
    """Schema errors and the payload's own issues as one list; a missing-field error is
    dropped where the payload says why the field is missing (no shop setting, a value
    with no platform equivalent)."""
    built = payload.issues if payload is not None else []
    explained: set[Loc] = set()
    for issue in built:
        explained.update(issue.loc[:k] for k in range(1, len(issue.loc) + 1))
    out = list(built)
    for e in errors:
        if not (e.missing and e.loc in explained):
            out.append(FieldIssue(field_path(e.loc, codes), e.rule, e.message, e.value, e.loc))
    return out


def validate(
    schema: PlatformSchema, doc: Mapping[str, Any], sku_codes: Mapping[Loc, list[str]] | None = None
) -> list[FieldIssue]:
    """Every way a payload breaks the schema (no payload-building issues)."""
    errors, _ = _compiled(schema).run(doc)
    return _issues(errors, None, sku_codes or {})


# --- checks and the brand's view -----------------------------------------------------------


@dataclass(frozen=True)
class PlatformCheck:
    """One product on one platform: the payload, what stops it, and how near it is."""

    platform: str
    brand: str
    spu_code: str
    category_id: str | None
    schema_version: int | None
    payload: dict[str, Any]
    issues: list[FieldIssue]
    score: float

    @property
    def ok(self) -> bool:
        return not self.issues


def _score(node: _Node, doc: dict[str, Any], required: int, issues: list[FieldIssue]) -> float:
    """Required fields present and valid over required fields. An issue breaks the
    innermost required field on its path (sku_list[B1-0001].weight, not sku_list too);
    one on a field no requirement names (an optional field with a wrong value) counts
    as one more field that is not right, so the score is 1.0 only when ready."""
    if not issues:
        return 1.0
    broken: set[Loc] = set()
    extra: set[Loc] = set()
    for issue in issues:
        hit = list(_slots_on(node, doc, issue.loc))
        if hit:
            broken.add(hit[-1])
        else:
            extra.add(issue.loc)
    total = required + len(extra)
    return max(required - len(broken), 0) / total if total else 0.0


def check(
    product: Product,
    platform: str,
    registry: Registry,
    shop_context: Mapping[str, Any] | None = None,
) -> PlatformCheck:
    """The product's payload on the platform, checked against its category's schema."""
    schema = registry.categories_for(platform, product)
    if schema is None:
        path = " > ".join(product.category)
        message = f"no {platform} category takes the master category {path}"
        issue = FieldIssue("category", "no_category", message, path, ("category",))
        return PlatformCheck(
            platform, product.brand, product.spu_code, None, None, {}, [issue], 0.0
        )
    payload = schema.builder.build(product, shop_context)
    node = _compiled(schema)
    errors, required = node.run(payload.doc)
    issues = _issues(errors, payload, payload.sku_codes)
    return PlatformCheck(
        platform=platform,
        brand=product.brand,
        spu_code=product.spu_code,
        category_id=schema.category_id,
        schema_version=schema.version,
        payload=payload.doc,
        issues=issues,
        score=_score(node, payload.doc, required, issues),
    )


def check_products(
    products: Iterable[Product],
    platforms: Sequence[str],
    registry: Registry,
    shop_contexts: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[PlatformCheck]:
    """Every product on every platform; `shop_contexts` gives each platform's shop
    settings (the brand's shop on that platform)."""
    contexts = shop_contexts or {}
    return [
        check(p, platform, registry, contexts.get(platform))
        for p in products
        for platform in platforms
    ]


@dataclass(frozen=True)
class Blocker:
    """A field that stops products on a platform, and how many."""

    platform: str
    field: str  # SKU positions folded: sku_list[].weight
    rule: str
    count: int  # products (SPUs) it stops
    examples: tuple[str, ...]  # a few of their SPU codes, in the order checked


_POSITION = re.compile(r"\[[^\]]*\]")


def blockers(checks: Iterable[PlatformCheck], examples: int = 3) -> list[Blocker]:
    """What stops the brand's products, grouped by platform, field and rule, the most
    common first (ties by platform, field, rule)."""
    groups: dict[tuple[str, str, str], dict[str, None]] = {}
    for c in checks:
        for issue in c.issues:
            key = (c.platform, _POSITION.sub("[]", issue.field), issue.rule)
            groups.setdefault(key, {})[c.spu_code] = None
    ranked = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [
        Blocker(platform, field, rule, len(spus), tuple(list(spus)[:examples]))
        for (platform, field, rule), spus in ranked
    ]
