"""Files written whole or not at all."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


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
