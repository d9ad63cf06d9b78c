"""Velocity and listed rows read by a forked child (engine/core/shop_rows_aside.py):
the same columns, hash and refusals as read in the process, and the process's own
reading whenever the child cannot be used."""

from __future__ import annotations

import copy
import os
import threading
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine.core.shop_rows_aside as aside_module
from engine.core.shop_rows_aside import ShopArrays, shop_rows_aside
from engine.core.typed_rows import NO_FORK, read_typed_columns
from tests.core.test_snapshot_read import _demo, documents
from tests.core.test_typed_rows import _same, _text, broken

IN_PROCESS = NO_FORK  # no section is this long: read in the process


def _arrays(seed: int, n_velocity: int, n_listed: int) -> ShopArrays:
    rng = np.random.default_rng(seed)
    velocity = (
        rng.integers(0, 1000, n_velocity),
        rng.integers(0, 50, n_velocity),
        rng.random(n_velocity) * 40,
    )
    listed = (
        rng.integers(0, 1000, n_listed),
        rng.integers(0, 50, n_listed),
        rng.integers(0, 99, n_listed),
    )
    return velocity, listed, int(rng.integers(0, 10**9))


def _equal(a: ShopArrays, b: ShopArrays) -> None:
    assert a[2] == b[2]
    for x, y in zip((*a[0], *a[1]), (*b[0], *b[1]), strict=True):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)


@pytest.fixture(autouse=True)
def _fork_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader forks only a process of one thread; in a whole test run other tests
    leave idle threads behind, so these tests, which are about the forked path, say the
    process has one (the child only decodes and codes rows)."""
    monkeypatch.setattr(threading, "active_count", lambda: 1)


def test_the_tests_process_can_fork() -> None:
    # Else every test below would compare the process's reading with itself.
    aside = shop_rows_aside(lambda: _arrays(1, 3, 2), forked=True)
    assert aside._child is not None
    _equal(aside.result(), _arrays(1, 3, 2))


@pytest.mark.parametrize("sizes", [(0, 0), (1, 0), (0, 1), (1000, 3000)])
def test_arrays_come_back_through_the_pipe_as_they_were(sizes: tuple[int, int]) -> None:
    arrays = _arrays(7, *sizes)
    parent = os.getpid()
    # Computed in the child only: a value that came back is the child's.
    aside = shop_rows_aside(lambda: arrays if os.getpid() != parent else _arrays(8, 1, 1), True)
    got = aside.result()
    _equal(got, arrays)
    assert all(array.flags.writeable for array in (*got[0], *got[1]))


def test_a_failing_child_leaves_the_reading_to_the_process() -> None:
    parent = os.getpid()

    def compute() -> ShopArrays:
        if os.getpid() != parent:
            raise RuntimeError("the child fails")
        return _arrays(3, 5, 4)

    _equal(shop_rows_aside(compute, forked=True).result(), _arrays(3, 5, 4))


def test_a_cut_answer_leaves_the_reading_to_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    parent = os.getpid()
    monkeypatch.setattr(aside_module, "_encode", lambda arrays: b"\x01" * 30)
    aside = shop_rows_aside(
        lambda: _arrays(4, 9, 9) if os.getpid() == parent else _arrays(5, 9, 9), True
    )
    _equal(aside.result(), _arrays(4, 9, 9))


def test_an_abandoned_child_is_stopped_and_reaped() -> None:
    aside = shop_rows_aside(lambda: _arrays(2, 200_000, 200_000), forked=True)  # > a pipe
    assert aside._child is not None
    pid = aside._child[0]
    aside.abandon()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents(), indent=st.sampled_from([None, 2]))
def test_a_valid_document_reads_alike_forked_or_not(
    doc: dict[str, Any], indent: int | None
) -> None:
    text = _text(doc, indent)
    in_process = read_typed_columns(text, fork_bytes=IN_PROCESS)
    forked = read_typed_columns(text, fork_bytes=0)
    assert (forked is None) == (in_process is None)
    if forked is not None and in_process is not None:
        _same(forked, in_process)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=broken())
def test_a_changed_document_is_refused_alike_forked_or_not(doc: dict[str, Any]) -> None:
    text = _text(doc, None)
    in_process = read_typed_columns(text, fork_bytes=IN_PROCESS)
    forked = read_typed_columns(text, fork_bytes=0)
    assert (forked is None) == (in_process is None)
    if forked is not None and in_process is not None:
        _same(forked, in_process)


def test_bad_shop_rows_are_refused_forked_as_in_process() -> None:
    doc = copy.deepcopy(_demo())
    doc["velocity"].append(dict(doc["velocity"][0]))  # a (SKU, shop) pair twice
    text = _text(doc, None)
    assert read_typed_columns(text, fork_bytes=IN_PROCESS) is None
    assert read_typed_columns(text, fork_bytes=0) is None
    doc = copy.deepcopy(_demo())
    doc["skus"] = doc["skus"] + [{"id": ""}]  # refused before the fork, stock after
    doc["stock"][0]["sku"] = "NO-SUCH-SKU"
    assert read_typed_columns(_text(doc, None), fork_bytes=0) is None
