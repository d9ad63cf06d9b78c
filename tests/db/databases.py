"""Throwaway databases for the tests: a SQLite file in the test's directory, or a
PostgreSQL database of the test's own, created on the server of OMNISTOCK_TEST_POSTGRES
(default: the local one, user postgres) and dropped afterwards.

A PostgreSQL server that does not answer fails the test instead of skipping it: CI runs
the PostgreSQL leg, and a skipped leg would pass unseen.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

POSTGRES = os.environ.get("OMNISTOCK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
BACKENDS = ("sqlite", "postgresql")


def server_url(database: str) -> str:
    """The libpq URL of a database on the test server."""
    # psycopg takes libpq URLs: no SQLAlchemy driver suffix.
    base = POSTGRES.replace("postgresql+psycopg://", "postgresql://").rstrip("/")
    return f"{base}/{database}"


@contextmanager
def blank_database(backend: str, directory: Path) -> Iterator[str]:
    """The URL of an empty database of the backend, gone after the block."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'db' / 'omnistock.db'}"
        return
    name = f"omnistock_{uuid.uuid4().hex[:16]}"
    admin = server_url("test")
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as error:
        pytest.fail(f"PostgreSQL at {POSTGRES} does not answer: {error}")
    try:
        yield server_url(name)
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
