"""`write_behind`: pieces written by a thread of their own, in order, and every failure
(of the making or of the writing) raised to the caller, leaving no plan file."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.core.files import atomic_file
from engine.core.plan_files import write_behind


@given(pieces=st.lists(st.binary(max_size=64), max_size=20))
def test_pieces_written_in_order(pieces: list[bytes]) -> None:
    file = io.BytesIO()
    write_behind(file, iter(pieces))
    assert file.getvalue() == b"".join(pieces)


def test_a_failure_while_making_pieces_leaves_no_file(tmp_path: Path) -> None:
    def pieces() -> Iterator[bytes]:
        yield b"{"
        yield b"half"
        raise RuntimeError("made no further")

    target = tmp_path / "plan.json"
    with pytest.raises(RuntimeError, match="made no further"), atomic_file(target) as file:
        write_behind(file, pieces())
    assert list(tmp_path.iterdir()) == []


class _FullDisk(io.BytesIO):
    """A file that takes two writes, then fails as a full disk does."""

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if len(self.getvalue()) >= 2:
            raise OSError(28, "No space left on device")
        return super().write(data)


@pytest.mark.parametrize("pieces", [3, 50])
def test_a_failed_write_is_raised(pieces: int) -> None:
    # Raised whether it happens near the end (the last pieces waited for) or early (the
    # making stops a few pieces later).
    made = []

    def making() -> Iterator[bytes]:
        for n in range(pieces):
            made.append(n)
            yield b"x"

    with pytest.raises(OSError, match="No space left"):
        write_behind(_FullDisk(), making())
    assert len(made) <= 2 + 1 + 3  # two written, one failed, at most a few made ahead
