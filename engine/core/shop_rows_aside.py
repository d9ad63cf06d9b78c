"""A snapshot's velocity and listed rows read on the machine's other core.

At 300,000 SKUs the two sections are 2 million rows: msgspec's decode and the lookup of
each row's SKU and shop ids are ~1.4 s of CPU that nothing needs until the columns are
returned, while the parent reads the stock section. Once the SKU, shop and brand ids are
known, a forked child (same memory, nothing copied) works out the sections' arrays and
hands them back through a pipe as their raw bytes (no pickling). The child runs the very
function the parent would (`compute`), so the arrays are the same either way; where a
fork is not safe or the child fails or refuses the rows, the parent runs it itself,
raising what it raises there (engine/core/aside.py).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import numpy as np

from engine.core.aside import Aside

# (velocity SKU, shop, units per day; listed SKU, shop, quantity) and the colons counted
ShopArrays = tuple[tuple[Any, Any, Any], tuple[Any, Any, Any], int]
_HEADER = struct.Struct("<qqq")  # colons, velocity rows, listed rows
_KINDS = (np.int64, np.int64, np.float64, np.int64, np.int64, np.int64)


def _encode(arrays: ShopArrays) -> bytes:
    velocity, listed, colons = arrays
    parts = [_HEADER.pack(colons, len(velocity[0]), len(listed[0]))]
    for array, kind in zip((*velocity, *listed), _KINDS, strict=True):
        parts.append(np.ascontiguousarray(array, dtype=kind).tobytes())
    return b"".join(parts)


def _decode(data: bytearray) -> ShopArrays | None:
    if len(data) < _HEADER.size:
        return None
    colons, n_velocity, n_listed = _HEADER.unpack_from(data)
    sizes = (n_velocity,) * 3 + (n_listed,) * 3
    if len(data) != _HEADER.size + 8 * sum(sizes):
        return None
    arrays, at = [], _HEADER.size
    for size, kind in zip(sizes, _KINDS, strict=True):
        arrays.append(np.frombuffer(data, dtype=kind, count=size, offset=at))
        at += 8 * size
    return (arrays[0], arrays[1], arrays[2]), (arrays[3], arrays[4], arrays[5]), colons


def shop_rows_aside(compute: Callable[[], ShopArrays], forked: bool) -> Aside[ShopArrays]:
    """`compute()` run by a forked child when `forked` (engine/core/aside.py)."""
    return Aside(compute, _encode, _decode, forked)
