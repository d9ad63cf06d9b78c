"""A delivery log on a migrated SQLite file of the test's own, for the senders' tests
(the log itself is tested on both backends in test_delivery_log.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from engine.db import migrate
from engine.db.connect import connect
from engine.reports.delivery.log import DeliveryLog


@contextmanager
def sqlite_log(folder: Path) -> Iterator[DeliveryLog]:
    url = f"sqlite:///{folder / 'db' / 'omnistock.db'}"
    migrate.upgrade(url)
    engine = connect(url)
    try:
        yield DeliveryLog(engine)
    finally:
        engine.dispose()
