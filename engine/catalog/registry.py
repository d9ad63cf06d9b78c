"""The platforms' listing schemas: one data file per platform and category, loaded and
checked once.

A file (engine/catalog/platforms/README.md describes it) says which master category
paths it takes, how each payload field is made from the product master, and the JSON
Schema the payload must meet. Loading checks every file whole and reports every fault
at once (InputError, each issue naming the file and the key); a registry that loaded is
one whose mappings all compile and whose schemas are all valid JSON Schema.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from engine.catalog.model import Product
from engine.catalog.payload import MappingError, Payload, PayloadBuilder, compile_builder
from engine.core.errors import InputError, Issue
from engine.core.io import canonical_json, dotted_path, read_document

__all__ = [
    "PLATFORMS_DIR",
    "WIDTH_KEYWORD",
    "PlatformSchema",
    "Registry",
    "default_registry",
    "load_schema",
    "parse_schema",
]

PLATFORMS_DIR = Path(__file__).resolve().parent / "platforms"
_KEYS = {"platform", "category_id", "name", "version", "api", "matches", "fields", "schema"}
_OPTIONAL_KEYS = {"sku_fields", "note"}
# The custom keyword of the width limit (completeness.py checks it): a whole number.
WIDTH_KEYWORD = "x-maxWidth"
_META = Draft202012Validator(Draft202012Validator.META_SCHEMA)


@dataclass(frozen=True)
class PlatformSchema:
    """One platform category: what it takes, how its payload is made, what it must meet."""

    platform: str
    category_id: str
    name: str
    version: int
    api: str
    # Master category paths it takes (a path covers every path under it).
    matches: tuple[tuple[str, ...], ...]
    fields: dict[str, Any]
    sku_fields: dict[str, Any]
    schema: dict[str, Any]
    builder: PayloadBuilder
    # sha256 of the file's canonical JSON: the same content, the same hash, however the
    # file is indented; what the database sync compares.
    content_hash: str
    source: str

    def payload_for(
        self, product: Product, shop_context: Mapping[str, Any] | None = None
    ) -> Payload:
        """The product's payload on this platform category (engine/catalog/payload.py)."""
        return self.builder.build(product, shop_context)


def _text(doc: dict[str, Any], key: str, issues: list[Issue]) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value.strip():
        if key in doc:  # a missing key is reported once, as missing
            issues.append(Issue(key, "must be non-empty text"))
        return ""
    return value


def _matches(value: Any, issues: list[Issue]) -> tuple[tuple[str, ...], ...]:
    if value is None:
        return ()  # reported as a missing key
    ok = isinstance(value, list) and value
    paths: list[tuple[str, ...]] = []
    for k, path in enumerate(value if ok else []):
        if not isinstance(path, list) or not path:
            issues.append(Issue(f"matches[{k}]", "a category path is a non-empty list of names"))
        elif not all(isinstance(p, str) and p.strip() for p in path):
            issues.append(Issue(f"matches[{k}]", "every name of a category path is text"))
        else:
            paths.append(tuple(p.strip() for p in path))
    if not ok:
        issues.append(Issue("matches", "a non-empty list of master category paths"))
    return tuple(paths)


def _widths(node: Any, loc: list[str | int]) -> Iterator[Issue]:
    """The width keyword anywhere in the schema takes a whole number >= 0."""
    if isinstance(node, dict):
        limit = node.get(WIDTH_KEYWORD)
        if WIDTH_KEYWORD in node and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 0
        ):
            where = dotted_path([*loc, WIDTH_KEYWORD], "schema")
            yield Issue(where, "a whole number >= 0 (the width in Taobao's count)")
        for key, value in node.items():
            yield from _widths(value, [*loc, key])
    elif isinstance(node, list):
        for k, value in enumerate(node):
            yield from _widths(value, [*loc, k])


def _schema(value: Any, issues: list[Issue]) -> dict[str, Any]:
    if value is None:
        return {}  # reported as a missing key
    if not isinstance(value, dict):
        issues.append(Issue("schema", "a JSON Schema object (draft 2020-12)"))
        return {}
    # Every fault of the schema, not only the first (check_schema stops at one).
    for err in _META.iter_errors(value):
        issues.append(Issue(dotted_path(err.absolute_path, "schema"), err.message))
    issues.extend(_widths(value, []))
    if value.get("type") != "object":
        issues.append(Issue("schema.type", "a payload is an object: 'object'"))
    return value


def _described(schema: dict[str, Any], name: str, key: str, issues: list[Issue]) -> Any:
    """The subschema of a dotted payload field; an issue when the schema lists its
    object's properties and the field is not among them (a typo in a field name)."""
    node: Any = schema
    for part in name.split("."):
        props = node.get("properties") if isinstance(node, dict) else None
        if not isinstance(props, dict):
            return None
        if part not in props:
            issues.append(Issue(key, f"{part!r} is not a property of the schema"))
            return None
        node = props[part]
    return node


def _coverage(doc: dict[str, Any], schema: dict[str, Any], issues: list[Issue]) -> None:
    fields, sku_fields = doc.get("fields"), doc.get("sku_fields")
    for name in fields if isinstance(fields, dict) else ():
        _described(schema, name, f"fields.{name}", issues)
    for name, items in sku_fields.items() if isinstance(sku_fields, dict) else ():
        node = _described(schema, name, f"sku_fields.{name}", issues)
        item_schema = node.get("items") if isinstance(node, dict) else None
        if isinstance(item_schema, dict) and isinstance(items, dict):
            for item in items:
                _described(item_schema, item, f"sku_fields.{name}.{item}", issues)


def parse_schema(doc: Any, source: str) -> PlatformSchema:
    """A platform schema from a file's data; InputError lists every fault by its key."""
    if not isinstance(doc, dict):
        raise InputError([Issue("", "a platform schema file holds one JSON object")], source)
    issues = [Issue(key, "required key is missing") for key in sorted(_KEYS - set(doc))]
    issues += [Issue(key, "unknown key") for key in sorted(set(doc) - _KEYS - _OPTIONAL_KEYS)]
    platform = _text(doc, "platform", issues)
    if platform and not (platform.isascii() and platform.isalpha() and platform.islower()):
        issues.append(Issue("platform", "lower-case letters, as the snapshot's shops name it"))
    category_id = _text(doc, "category_id", issues)
    name, api = _text(doc, "name", issues), _text(doc, "api", issues)
    version = doc.get("version")
    bad_version = isinstance(version, bool) or not isinstance(version, int) or version < 1
    if "version" in doc and bad_version:
        issues.append(Issue("version", "a whole number >= 1"))
    matches = _matches(doc.get("matches"), issues)
    schema = _schema(doc.get("schema"), issues)
    builder: PayloadBuilder | None = None
    try:
        if "fields" in doc:  # else reported as a missing key
            builder = compile_builder(doc["fields"], doc.get("sku_fields"))
    except MappingError as err:
        issues += [Issue(key, message) for key, message in err.problems]
    _coverage(doc, schema, issues)
    if issues or builder is None or not isinstance(version, int):
        raise InputError(issues, source)
    return PlatformSchema(
        platform=platform,
        category_id=category_id,
        name=name,
        version=version,
        api=api,
        matches=matches,
        fields=doc["fields"],
        sku_fields=doc.get("sku_fields") or {},
        schema=schema,
        builder=builder,
        content_hash=hashlib.sha256(canonical_json(doc).encode()).hexdigest(),
        source=source,
    )


def load_schema(path: Path) -> PlatformSchema:
    """One platform schema file (JSON)."""
    return parse_schema(read_document(path), str(path))


class Registry:
    """Every platform category schema, found by platform and category id or by a
    product's master category path (the longest covering path wins)."""

    def __init__(self, schemas: Iterable[PlatformSchema]) -> None:
        self._by_id: dict[tuple[str, str], PlatformSchema] = {}
        self._by_path: dict[str, dict[tuple[str, ...], PlatformSchema]] = {}
        issues: list[Issue] = []
        for schema in schemas:
            key = (schema.platform, schema.category_id)
            if key in self._by_id:
                other = self._by_id[key].source
                issues.append(Issue(f"{schema.source}:category_id", f"also in {other}"))
                continue
            self._by_id[key] = schema
            paths = self._by_path.setdefault(schema.platform, {})
            for path in schema.matches:
                if path in paths:
                    where = f"{schema.source}:matches"
                    shown = " > ".join(path)
                    issues.append(Issue(where, f"{shown} is also taken by {paths[path].source}"))
                else:
                    paths[path] = schema
        if issues:
            raise InputError(issues, "platform schemas")

    @classmethod
    def load(cls, directory: Path = PLATFORMS_DIR) -> Registry:
        """Every *.json file under directory; all faults of all files at once."""
        schemas: list[PlatformSchema] = []
        issues: list[Issue] = []
        files = sorted(directory.rglob("*.json"))
        if not files:
            raise InputError([Issue("", "no platform schema files (*.json)")], str(directory))
        for path in files:
            try:
                schemas.append(load_schema(path))
            except InputError as err:
                # Several files may be broken: each issue says which one.
                name = path.relative_to(directory).as_posix()
                issues += [Issue(f"{name}:{i.path}", i.message) for i in err.issues]
        if issues:
            raise InputError(issues, str(directory))
        return cls(schemas)

    def platforms(self) -> list[str]:
        return sorted(self._by_path)

    def schemas(self, platform: str | None = None) -> list[PlatformSchema]:
        """Every schema (of one platform), by platform and category id."""
        return [s for k, s in sorted(self._by_id.items()) if platform in (None, s.platform)]

    def schema(self, platform: str, category_id: str) -> PlatformSchema:
        found = self._by_id.get((platform, category_id))
        if found is None:
            known = ", ".join(s.category_id for s in self.schemas(platform)) or "none"
            message = f"no schema for category {category_id!r} (known on {platform}: {known})"
            raise InputError([Issue("category_id", message)])
        return found

    def match(self, platform: str, path: Sequence[str]) -> PlatformSchema | None:
        """The schema whose match is the longest prefix of the master category path."""
        paths = self._by_path.get(platform, {})
        names = tuple(p.strip() for p in path)
        for end in range(len(names), 0, -1):
            found = paths.get(names[:end])
            if found is not None:
                return found
        return None

    def categories_for(self, platform: str, product: Product) -> PlatformSchema | None:
        """The platform category a product lists in, or None when no file covers its
        master category path."""
        return self.match(platform, product.category)


@cache
def default_registry() -> Registry:
    """The registry of the data files shipped in engine/catalog/platforms (loaded once)."""
    return Registry.load()
