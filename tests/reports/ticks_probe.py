"""Ticks for tests/reports/test_ticks.py, importable by the RQ worker processes it
starts (RQ sends a tick by module and name)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from redis import Redis

from engine.db.connect import connect
from engine.reports.schedules import Firing, ScheduleStore, fire_due


def count(args: dict[str, Any]) -> None:
    """Note the moment of each tick in a Redis list."""
    connection = Redis.from_url(args["redis"])
    try:
        connection.rpush(args["key"], time.time())
    finally:
        connection.close()


def fire(args: dict[str, Any]) -> int:
    """Fire the due report schedules of the database at args["db"]; each report "sent"
    is its key pushed to a Redis list, so the test counts the sends of every key."""
    connection = Redis.from_url(args["redis"])
    engine = connect(args["db"])

    def run(firing: Firing) -> str:
        connection.rpush(args["key"], firing.key)
        time.sleep(0.01)  # a send takes a while: the other worker is busy meanwhile too
        return "sent"

    try:
        return len(fire_due(ScheduleStore(engine), datetime.now(UTC), run))
    finally:
        engine.dispose()
        connection.close()
