"""Reading interchange documents (JSON or YAML) and writing deterministic JSON.

Every failure to read or validate becomes an InputError naming the file and where in
it the fault is; a caller never sees a parser's or pydantic's own exception.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Hashable, Iterable
from os import PathLike
from pathlib import Path
from typing import Any, TypeVar

import orjson
import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python

from engine.core.columns import SnapshotColumns, columns_of_document, document_colons
from engine.core.errors import InputError, Issue
from engine.core.files import write_atomically
from engine.core.plan import Plan
from engine.core.plan_files import COLUMNAR_READERS
from engine.core.snapshot import Snapshot
from engine.core.typed_rows import NO_FORK, read_typed_columns

_YamlBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictYamlLoader(_YamlBase):  # type: ignore[valid-type,misc]
    """Safe YAML that refuses a repeated key instead of keeping the last value."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Hashable] = set()
        for key_node, _ in node.value:
            # Merge keys (<<) may legitimately be overridden by explicit keys.
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                continue  # the base class reports unhashable keys
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def _parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictYamlLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise InputError([Issue("", f"{where}{err.problem or err.context}")], source) from None
    except yaml.YAMLError as err:
        raise InputError([Issue("", f"invalid YAML: {err}")], source) from None


def _parse_json_fast(data: bytes) -> Any:
    """The document parsed by orjson, or None where it cannot tell the same story as
    `_parse_json` (a syntax error, a repeated key, NaN, an integer beyond 64 bits, a
    lone surrogate): that parser then says what is wrong, as it always has."""
    tree = _orjson_tree(data)
    return tree if tree is not None and _unrepeated(data, tree) else None


def _orjson_tree(data: bytes) -> Any:
    """The document parsed by orjson (which keeps the last of repeated keys without a
    word: see `_unrepeated`), or None where orjson refuses it."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


def _unrepeated(data: bytes, tree: Any, colons: int | None = None) -> bool:
    """Whether the text `data`, parsed by orjson into `tree`, repeats no key (False
    also where it cannot tell). A repeat is found by counting colons: the text has one
    per key and value pair plus those inside strings, and orjson's writing of the tree
    one per pair it kept plus the same ones inside strings (written raw, never escaped),
    unless the text escaped a colon. `colons`: that writing's count, where the caller
    counted it without writing (`engine.core.columns.document_colons`); it holds for a
    text with no escape at all (one memchr to tell), whose strings are as in the tree."""
    if colons is not None and b"\\" not in data:
        return data.count(b":") == colons
    # One scan for both spellings of an escaped colon (rare: then look closer).
    if b"\\u003" in data and (b"\\u003a" in data or b"\\u003A" in data):
        return False
    return data.count(b":") == orjson.dumps(tree).count(b":")


def _parse_json(text: str, source: str) -> Any:
    # The stdlib parser gives no position to an object hook, so repeated keys are
    # collected by object identity and located by a walk of the finished tree.
    repeats: dict[int, list[str]] = {}

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in pairs:
            if key in obj:
                repeats.setdefault(id(obj), []).append(key)
            obj[key] = value
        return obj

    try:
        data = json.loads(text, object_pairs_hook=unique)
    except json.JSONDecodeError as err:
        issue = Issue("", f"line {err.lineno}, column {err.colno}: {err.msg}")
        raise InputError([issue], source) from None
    if repeats:
        raise InputError(list(_repeated_keys(data, "", repeats)), source)
    return data


def _repeated_keys(node: Any, path: str, repeats: dict[int, list[str]]) -> Iterable[Issue]:
    if isinstance(node, dict):
        for key in repeats.get(id(node), []):
            yield Issue(path, f"duplicate key {key!r}")
        for key, value in node.items():
            yield from _repeated_keys(value, f"{path}.{key}" if path else key, repeats)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _repeated_keys(value, f"{path}[{index}]", repeats)


_PARSERS: dict[str, Callable[[str, str], Any]] = {
    ".json": _parse_json,
    ".yaml": _parse_yaml,
    ".yml": _parse_yaml,
}


def read_document(path: str | PathLike[str]) -> Any:
    """The plain data (dicts, lists, scalars) of a .json, .yaml or .yml file."""
    source, file = str(path), Path(path)
    parse = _PARSERS.get(file.suffix.lower())
    if parse is None:
        message = f"unsupported file type {file.suffix!r}: use .json, .yaml or .yml"
        raise InputError([Issue("", message)], source)
    raw = _file_bytes(file, source)
    if parse is _parse_json:
        tree = _parse_json_fast(_without_bom(raw))
        if tree is not None:
            return tree
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError([Issue("", f"not UTF-8 text (byte {err.start})")], source) from None
    return parse(text, source)


def _file_bytes(file: Path, source: str) -> bytes:
    try:
        return file.read_bytes()
    except FileNotFoundError:
        raise InputError([Issue("", "file not found")], source) from None
    except OSError as err:
        raise InputError([Issue("", f"cannot read: {err.strerror or err}")], source) from None


def _without_bom(raw: bytes) -> bytes:
    # As "utf-8-sig" decodes: spreadsheet tools on Windows often prepend a byte-order mark.
    return raw.removeprefix(codecs.BOM_UTF8)


def dotted_path(loc: Iterable[str | int], prefix: str = "") -> str:
    """('skus', 3, 'price') -> 'skus[3].price', after an optional prefix."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


# Reworded where pydantic's text would not tell a user of the file format what to do.
_MESSAGES = {
    "missing": "required field is missing",
    "extra_forbidden": "unknown field",
    "int_type": "must be a whole number",
}


def _shown(value: Any) -> str | None:
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, bool | int | float) or value is None:
        return repr(value)
    return None  # a whole object or list would drown the message


def pydantic_issues(err: ValidationError, prefix: str = "") -> list[Issue]:
    """One Issue per pydantic error, with the input value when it is short."""
    issues = []
    for error in err.errors(include_url=False):
        message = _MESSAGES.get(error["type"], error["msg"])
        got = _shown(error.get("input"))
        if got is not None and error["type"] not in ("missing", "extra_forbidden"):
            message += f", got {got}"
        issues.append(Issue(dotted_path(error["loc"], prefix), message))
    return issues


Doc = TypeVar("Doc", bound=BaseModel)


def parse_document(model: type[Doc], data: Any, source: str = "") -> Doc:
    """A document (snapshot, plan, shelf input, ...) from plain data, or an InputError
    listing every issue under `source` (a file name, or a request field)."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise InputError(pydantic_issues(err), source) from None
    except InputError as err:  # cross-reference issues, raised without a source
        raise InputError(err.issues, source) from None


def parse_snapshot(data: Any, source: str = "") -> Snapshot:
    return parse_document(Snapshot, data, source)


def parse_plan(data: Any, source: str = "") -> Plan:
    return parse_document(Plan, data, source)


def load_plan(path: str | PathLike[str]) -> Plan:
    """A plan file: JSON or YAML, or the columnar forms `omnistock plan -o` writes."""
    reader = COLUMNAR_READERS.get(Path(path).suffix.lower())
    data = reader(Path(path)) if reader is not None else read_document(path)
    return parse_plan(data, source=str(path))


def load_snapshot(path: str | PathLike[str]) -> Snapshot:
    return parse_snapshot(read_document(path), source=str(path))


def parse_snapshot_columns(data: Any, source: str = "") -> SnapshotColumns:
    """A snapshot document as columns (`engine.core.columns`): checked without a model
    per row; a document the quick checks refuse is read by the model, which names every
    fault (the same InputError as `parse_snapshot`)."""
    columns = columns_of_document(data)
    if columns is None:
        # The model accepts some documents the quick checks do not vouch for.
        columns = SnapshotColumns.of_snapshot(parse_snapshot(data, source))
    return columns


def load_snapshot_columns(path: str | PathLike[str], fork: bool = True) -> SnapshotColumns:
    """`parse_snapshot_columns(read_document(path))`, with one proof fewer for a JSON
    file the quick checks accept: that it repeats no key is told by counting the colons
    of its rows as checked (`document_colons`) rather than by writing the parsed tree
    again (0.3-0.5 s at 300,000 SKUs). `fork`: big velocity and listed sections may be
    read by a forked child (engine/core/typed_rows.py)."""
    source, file = str(path), Path(path)
    if file.suffix.lower() == ".json":
        data = _without_bom(_file_bytes(file, source))
        # Typed rows first (msgspec: no dict per row); what they cannot vouch for is
        # read as before, so the errors are the same.
        typed = read_typed_columns(data) if fork else read_typed_columns(data, NO_FORK)
        if typed is not None:
            return typed
        tree = _orjson_tree(data)
        columns = columns_of_document(tree) if tree is not None else None
        if columns is not None and _unrepeated(data, tree, document_colons(tree, columns)):
            return columns
        if tree is not None and columns is None and _unrepeated(data, tree):
            return parse_snapshot_columns(tree, source)
    # Anything else as any document is read: a repeated key or a syntax error named.
    return parse_snapshot_columns(read_document(path), source)


def canonical_json(obj: Any) -> str:
    """Compact JSON with sorted keys: equal data gives equal text, for hashing."""
    return json.dumps(
        to_jsonable_python(obj),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def dump_json(obj: Any, path: str | PathLike[str] | None = None) -> str:
    """Readable JSON in model field order; written to path when given, always returned."""
    text = json.dumps(to_jsonable_python(obj), indent=2, ensure_ascii=False, allow_nan=False)
    text += "\n"
    if path is not None:
        write_atomically(Path(path), text)
    return text
