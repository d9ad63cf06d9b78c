"""Reading interchange documents (JSON or YAML) and writing deterministic JSON.

Every failure to read or validate becomes an InputError naming the file and where in
it the fault is; a caller never sees a parser's or pydantic's own exception.
"""

from __future__ import annotations

import codecs
import json
import os
import tempfile
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from itertools import islice
from os import PathLike
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import orjson
import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python

from engine.core.columns import SnapshotColumns, columns_of_document, document_colons
from engine.core.errors import InputError, Issue
from engine.core.plan import Allocation, Plan
from engine.core.snapshot import Snapshot
from engine.core.typed_rows import read_typed_columns

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
    reader = _COLUMNAR_READERS.get(Path(path).suffix.lower())
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


def load_snapshot_columns(path: str | PathLike[str]) -> SnapshotColumns:
    """`parse_snapshot_columns(read_document(path))`, with one proof fewer for a JSON
    file the quick checks accept: that it repeats no key is told by counting the colons
    of its rows as checked (`document_colons`) rather than by writing the parsed tree
    again (0.3-0.5 s at 300,000 SKUs)."""
    source, file = str(path), Path(path)
    if file.suffix.lower() == ".json":
        data = _without_bom(_file_bytes(file, source))
        # Typed rows first (msgspec: no dict per row); what they cannot vouch for is
        # read as before, so the errors are the same.
        typed = read_typed_columns(data)
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


# The plan's parts that hold floats (kpis.utilisation, solver_parts[].gap, timing):
# orjson writes some floats in other notation than the standard encoder (0.00001 for
# 1e-05), so these few small parts go through the latter.
_PLAN_FLOAT_PARTS = frozenset({"timing", "kpis", "solver_parts"})


def plan_json(document: Mapping[str, Any]) -> bytes:
    """A plan document (`engine.planning.planner.plan_document`) as `dump_json` writes
    the `Plan` of it, byte for byte, but with orjson for the big parts. Outside the
    float parts above, the document holds only str, int, bool, None, lists and dicts.
    Its allocations may be rows or columns (`plan_document(columnar=True)`): the same
    bytes either way."""
    return b"".join(_plan_parts(document))


def _plan_parts(document: Mapping[str, Any]) -> Iterator[bytes | memoryview]:
    """`plan_json`'s bytes in pieces, for a writer that need not hold them whole."""
    yield b"{\n"
    for n, (key, value) in enumerate(document.items()):
        head = orjson.dumps(key) + b": "
        yield (b",\n  " if n else b"  ") + head
        if key == "allocations" and isinstance(value, Mapping):
            yield from _rows_json(value)
            continue
        if key in _PLAN_FLOAT_PARTS:
            text = json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False).encode()
            # One level deeper: JSON strings hold no raw newline, so every one is layout.
            yield text.replace(b"\n", b"\n  ")
        else:
            # One level deeper as the value of a one-key object: '{\n  "key": ' value
            # '\n}', laid out by orjson itself (re-indenting the pools and reasons of a
            # 300,000-SKU plan afterwards took 0.25 s).
            wrapped = orjson.dumps({key: value}, option=orjson.OPT_INDENT_2)
            yield wrapped[len(b"{\n  ") + len(head) : -len(b"\n}")]
    yield b"\n}\n"


# Rows per piece of `_rows_json` (a piece of a 300,000-SKU plan: about 15 MB).
_ROWS_AT_ONCE = 65536
# orjson's layout of {"a": [rows]}: the rows' part is at the depth of a plan's key.
_WRAPPED_HEAD, _WRAPPED_TAIL = len(b'{\n  "a": ['), len(b"\n  ]\n}")


def _rows_json(columns: Mapping[str, list[Any]]) -> Iterator[bytes | memoryview]:
    """The rows of these columns as `orjson.dumps(allocation_rows(columns),
    option=OPT_INDENT_2)` writes them one level deep (as a plan's allocations), in
    pieces: each piece's rows made as dicts, written by orjson and freed before the
    next. 1,014,000 rows: 1.0 s of CPU (rows 0.47 s, orjson 0.53 s), against 2.0 s
    when the rows were put together from each column's split text without dicts."""
    size = len(next(iter(columns.values()), []))
    if size == 0:
        yield b"[]"
        return
    yield b"["
    for start in range(0, size, _ROWS_AT_ONCE):
        piece = {name: values[start : start + _ROWS_AT_ONCE] for name, values in columns.items()}
        text = orjson.dumps({"a": allocation_rows(piece)}, option=orjson.OPT_INDENT_2)
        if start:
            yield b","
        yield memoryview(text)[_WRAPPED_HEAD:-_WRAPPED_TAIL]
    yield b"\n  ]"


PlanWriter = Callable[[dict[str, Any], Path], None]
# Where the columnar forms keep the plan without its allocations.
PARQUET_KEY = b"omnistock.plan"
ALLOCATION_FIELDS = tuple(Allocation.model_fields)


def allocation_rows(columns: Mapping[str, list[Any]]) -> list[dict[str, Any]]:
    """Allocations given as columns, as rows (dicts in the columns' order)."""
    names = tuple(columns)
    if names == _ROW_DISPLAY_FIELDS:
        # The planner's case: a dict display builds a row 2.5x faster than dict(zip())
        # (10,000 rows: 8.1 -> 3.3 ms, the largest piece of a plan's assembly over HTTP).
        return [
            {
                "sku": sku,
                "shop": shop,
                "quantity": quantity,
                "shared": shared,
                "binding": binding,
                "listed": listed,
                "target": target,
                "lb": lb,
                "ub": ub,
            }
            for sku, shop, quantity, shared, binding, listed, target, lb, ub in zip(
                *columns.values(), strict=True
            )
        ]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


# The keys of the dict display above, in its order; a test keeps it equal to Allocation's.
_ROW_DISPLAY_FIELDS = (
    "sku",
    "shop",
    "quantity",
    "shared",
    "binding",
    "listed",
    "target",
    "lb",
    "ub",
)


def _allocation_columns(document: Mapping[str, Any]) -> dict[str, list[Any]]:
    allocations = document["allocations"]
    if isinstance(allocations, dict):
        return dict(allocations)
    return {name: [a[name] for a in allocations] for name in ALLOCATION_FIELDS}


def _without_allocations(document: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "allocations"}


def write_plan_json(document: dict[str, Any], path: Path) -> None:
    """`plan_json` of the document into `path`, written piece by piece."""
    with atomic_file(path) as file:
        write_behind(file, _plan_parts(document))


# Pieces made but not yet written, at most: memory stays at a few pieces (tens of MB).
_PIECES_AHEAD = 2
# Pieces at least this big are synced to disk as they are written (`write_behind`).
_SYNCED_PIECE = 1 << 22
_sync_data: Callable[[int], None] = getattr(os, "fdatasync", os.fsync)  # none on macOS


def write_behind(file: BinaryIO, pieces: Iterable[bytes | memoryview]) -> None:
    """Write the pieces in order, each by a thread of its own while this one makes the
    next. Writing hundreds of MB is the kernel copying them into its cache and waiting
    for dirty pages to drain, outside the GIL: on a second core, not after the making
    (a 300,000-SKU plan, 319 MB: the write stage's wall time was 1 s above its CPU
    time). Each big piece is also synced to disk there, so the fsync that makes the
    file whole (`atomic_file`) finds little left to wait for (it waited 0.45 s for a
    300,000-SKU plan). A failed write raises here, at most a few pieces later."""

    def write(piece: bytes | memoryview) -> None:
        file.write(piece)
        if len(piece) >= _SYNCED_PIECE:
            file.flush()
            _sync_data(file.fileno())

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="write-behind") as writer:
        pending: deque[Future[None]] = deque()
        for piece in pieces:
            pending.append(writer.submit(write, piece))
            if len(pending) > _PIECES_AHEAD:
                pending.popleft().result()
        while pending:
            pending.popleft().result()


def write_plan_parquet(document: dict[str, Any], path: Path) -> None:
    """The allocations as one Parquet table (a column per Allocation field, the ids
    dictionary-encoded), the rest of the plan as its JSON in the schema's metadata
    under `omnistock.plan`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = _allocation_columns(document)
    types = {"sku": pa.string(), "shop": pa.string(), "binding": pa.list_(pa.string())}
    types["listed"] = pa.bool_()
    table = pa.table(
        {name: pa.array(columns[name], type=types.get(name, pa.int64())) for name in columns}
    )
    rest = plan_json(_without_allocations(document))
    table = table.replace_schema_metadata({PARQUET_KEY: rest})
    with atomic_file(path) as file:
        pq.write_table(table, file, use_dictionary=["sku", "shop", "binding"])


def _read_plan_parquet(path: Path) -> Any:
    try:
        table = _parquet_file(path).read()
    except (OSError, ValueError) as err:
        raise InputError([Issue("", f"not a Parquet plan: {err}")], str(path)) from None
    rest = (table.schema.metadata or {}).get(PARQUET_KEY)
    if rest is None:
        raise InputError([Issue("", "no omnistock.plan metadata: not a plan")], str(path))
    return {**orjson.loads(rest), "allocations": table.to_pylist()}


def _parquet_file(path: Path) -> Any:
    """The Parquet file, read with no limit on its metadata: a big plan's pools and
    reasons (tens of MB at 300,000 SKUs) exceed pyarrow's default thrift limits."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        message = "reading .parquet plans needs pyarrow: pip install 'omnistock[columnar]'"
        raise InputError([Issue("", message)], str(path)) from None
    unlimited = 2**31 - 1
    return pq.ParquetFile(
        path, thrift_string_size_limit=unlimited, thrift_container_size_limit=unlimited
    )


def plan_head(path: Path) -> dict[str, Any]:
    """A plan file's plan without its allocations, read without them where the file
    keeps them apart (.parquet, .ndjson)."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return dict(orjson.loads(_parquet_file(path).schema_arrow.metadata[PARQUET_KEY]))
    if suffix == ".ndjson":
        with path.open("rb") as file:
            return dict(orjson.loads(file.readline()))
    return _without_allocations(orjson.loads(path.read_bytes()))


def write_plan_ndjson(document: dict[str, Any], path: Path) -> None:
    """The plan without its allocations on the first line (JSON, as in a .json plan),
    then one allocation a line."""
    with atomic_file(path) as file:
        write_behind(file, _ndjson_parts(document))


def _ndjson_parts(document: dict[str, Any]) -> Iterator[bytes]:
    columns = _allocation_columns(document)
    rest = _without_allocations(document)
    head = json.dumps(rest, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    yield head.encode() + b"\n"
    names = tuple(columns)
    rows = zip(*columns.values(), strict=True)
    while chunk := list(islice(rows, 65536)):
        lines = [orjson.dumps(dict(zip(names, row, strict=True))) for row in chunk]
        yield b"\n".join(lines) + b"\n"


def _read_plan_ndjson(path: Path) -> Any:
    try:
        with path.open("rb") as file:
            head = orjson.loads(file.readline())
            allocations = [orjson.loads(line) for line in file if line.strip()]
    except FileNotFoundError:
        raise InputError([Issue("", "file not found")], str(path)) from None
    except orjson.JSONDecodeError as err:
        raise InputError([Issue("", f"not an NDJSON plan: {err}")], str(path)) from None
    if not isinstance(head, dict):
        raise InputError([Issue("", "line 1 is not the plan")], str(path))
    return {**head, "allocations": allocations}


PLAN_WRITERS: dict[str, PlanWriter] = {
    ".json": write_plan_json,
    ".parquet": write_plan_parquet,
    ".ndjson": write_plan_ndjson,
}
_COLUMNAR_READERS: dict[str, Callable[[Path], Any]] = {
    ".parquet": _read_plan_parquet,
    ".ndjson": _read_plan_ndjson,
}


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A binary file that becomes `path` whole or not at all: written beside it
    (owner-only, as mkstemp makes it), fsynced, then renamed over the target. A crash or
    an error inside the block never leaves a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_atomically(path: Path, text: str | bytes) -> None:
    """Write a whole file or nothing (`atomic_file`). Text is written as UTF-8 (its line
    ends as they are); bytes as they are."""
    with atomic_file(path) as file:
        file.write(text if isinstance(text, bytes) else text.encode("utf-8"))
