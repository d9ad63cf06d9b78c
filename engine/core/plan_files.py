"""Plan files: a plan document written as JSON (byte for byte what the model's writer
writes), Parquet or NDJSON, and the columnar forms read back.

`omnistock plan` hands over its allocations as an `AllocationTable` (arrays): rows are
made piece by piece as they are written.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import orjson

from engine.core.allocation_table import AllocationTable
from engine.core.errors import InputError, Issue
from engine.core.files import atomic_file
from engine.core.plan import Allocation
from engine.core.plan_tables import PoolTable, UnallocatedTable
from engine.core.table_json import rows_json

# A plan's parts kept as arrays until written (`plan_document(columnar=True)`).
PLAN_TABLES = (AllocationTable, UnallocatedTable, PoolTable)

# The plan's parts that hold floats (kpis.utilisation, solver_parts[].gap, timing):
# orjson writes some floats in other notation than the standard encoder (0.00001 for
# 1e-05), so these few small parts go through the latter.
_PLAN_FLOAT_PARTS = frozenset({"timing", "kpis", "solver_parts"})


def plan_json(document: Mapping[str, Any]) -> bytes:
    """A plan document (`engine.planning.planner.plan_document`) as `dump_json` writes
    the `Plan` of it, byte for byte, but with orjson for the big parts. Outside the
    float parts above, the document holds only str, int, bool, None, lists and dicts.
    Its allocations may be rows, columns or an `AllocationTable`
    (`plan_document(columnar=True)`): the same bytes every way."""
    return b"".join(_plan_parts(document))


def _plan_parts(
    document: Mapping[str, Any],
) -> Iterator[bytes | memoryview]:
    """`plan_json`'s bytes in pieces, for a writer that need not hold them whole."""
    yield b"{\n"
    for n, (key, value) in enumerate(document.items()):
        head = orjson.dumps(key) + b": "
        yield (b",\n  " if n else b"  ") + head
        if key == "allocations" and isinstance(value, Mapping):
            yield from _rows_json(value)
            continue
        if isinstance(value, PLAN_TABLES):
            yield from rows_json(value, _ROWS_AT_ONCE)
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


def _rows_json(allocations: Mapping[str, list[Any]]) -> Iterator[bytes | memoryview]:
    """The rows of allocations given as columns as `orjson.dumps(allocation_rows(columns),
    option=OPT_INDENT_2)` writes them one level deep (as a plan's allocations), in
    pieces: each piece's rows made as dicts, written by orjson and freed before the next
    (a table's text is looked up from its arrays instead: engine/core/table_json.py)."""
    size = _size(allocations)
    if size == 0:
        yield b"[]"
        return
    yield b"["
    for start in range(0, size, _ROWS_AT_ONCE):
        piece = _piece(allocations, start, min(start + _ROWS_AT_ONCE, size))
        text = orjson.dumps({"a": allocation_rows(piece)}, option=orjson.OPT_INDENT_2)
        if start:
            yield b","
        yield memoryview(text)[_WRAPPED_HEAD:-_WRAPPED_TAIL]
    yield b"\n  ]"


def _size(allocations: Mapping[str, list[Any]]) -> int:
    return len(next(iter(allocations.values()), []))


def _piece(allocations: Mapping[str, list[Any]], start: int, stop: int) -> Mapping[str, list[Any]]:
    return {name: values[start:stop] for name, values in allocations.items()}


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
    if isinstance(allocations, AllocationTable):
        return allocations.columns()
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
    dictionary-encoded), the rest of the plan as its JSON in the file's key-value
    metadata under `omnistock.plan` (read back as the schema's)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    allocations = document["allocations"]
    if isinstance(allocations, AllocationTable):
        table = _arrow_table(allocations)
    else:
        columns = _allocation_columns(document)
        types = {"sku": pa.string(), "shop": pa.string(), "binding": pa.list_(pa.string())}
        types["listed"] = pa.bool_()
        table = pa.table(
            {name: pa.array(columns[name], type=types.get(name, pa.int64())) for name in columns}
        )
    rest = plan_json(_without_allocations(document))
    # The plan's rest as the file's key-value metadata, readers find it in the schema's.
    # Not the Arrow schema stored besides (pyarrow's default): it would hold the rest
    # again, base64-encoded (a 300,000-SKU plan: 2.3 s to write the file, 0.25 s without).
    with atomic_file(path) as file:
        dictionary = ["sku", "shop", "binding"]
        with pq.ParquetWriter(
            file, table.schema, store_schema=False, use_dictionary=dictionary
        ) as writer:
            writer.write_table(table)
            writer.add_key_value_metadata({PARQUET_KEY: rest})


def _arrow_table(allocations: AllocationTable) -> Any:
    """The table's columns as Arrow arrays, with no Python value per cell: ids as
    dictionary arrays (codes into the ids, as Parquet writes them anyway), binding lists
    taken by code from the distinct lists, numbers as they are. Read back, the table
    made from the rows (tests/core/test_allocation_table.py)."""
    import pyarrow as pa

    def by_code(values: pa.Array, codes: np.ndarray) -> pa.Array:
        return pa.DictionaryArray.from_arrays(pa.array(codes), values)

    t = allocations
    binding_lists = pa.array(t.binding_lists, type=pa.list_(pa.string()))
    return pa.table(
        {
            "sku": by_code(pa.array(t.sku_ids, type=pa.string()), t.cell_sku),
            "shop": by_code(pa.array(t.shop_ids, type=pa.string()), t.cell_shop),
            "quantity": pa.array(t.quantity, type=pa.int64()),
            "shared": pa.array(t.shared, type=pa.int64()),
            "binding": binding_lists.take(pa.array(t.binding)),
            "listed": pa.array(t.quantity + t.shared > 0, type=pa.bool_()),
            "target": pa.array(t.target, type=pa.int64()),
            "lb": pa.array(t.lb, type=pa.int64()),
            "ub": pa.array(t.ub, type=pa.int64()),
        }
    )


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
    rest = {
        k: v.rows() if isinstance(v, UnallocatedTable | PoolTable) else v for k, v in rest.items()
    }
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
COLUMNAR_READERS: dict[str, Callable[[Path], Any]] = {
    ".parquet": _read_plan_parquet,
    ".ndjson": _read_plan_ndjson,
}
