"""Opening the relational database: one URL, SQLite or PostgreSQL, checked at once.

SQLite (the default, a file beside the key file) is set up the way the state store is:
foreign keys enforced (SQLite ignores them unless asked), WAL so readers never wait for a
writer, every commit synced, and a busy timeout so a writer queues behind another instead
of failing at once. SQLAlchemy emits BEGIN itself rather than leaving it to the sqlite3
driver, which would run SELECTs and DDL outside the transaction: a migration would then
not be atomic and a read-then-write not isolated. Transactions of a `writer(engine)` begin
IMMEDIATE, taking the write lock before their first read, so two writers on one file run
one after the other and neither writes from a stale read.

PostgreSQL goes through psycopg 3; a plain `postgresql://` URL would otherwise pick
psycopg2, which is not installed. There two writers run at once, and a unique key decides
which of two equal writes wins (the store turns the loser into a Conflict).
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from engine.db.errors import DatabaseUnavailable

# A writer waits this long for another's write lock before giving up (SQLite only): an
# import of a large catalog holds it for a few seconds.
SQLITE_BUSY_TIMEOUT_MS = 10_000
# A PostgreSQL server that does not answer fails the connection after this many seconds,
# not after the operating system's TCP timeout (minutes).
PG_CONNECT_TIMEOUT_S = 5
# The execution option `writer()` sets: SQLite's BEGIN takes the write lock at once.
WRITE_OPTION = "omnistock_write"

_SQLITE_PRAGMAS = (
    f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys = ON",
    "PRAGMA synchronous = FULL",
)
_SQLITE_WAL = "PRAGMA journal_mode = WAL"
# In a URL that does not parse: anything from a colon to the last @ may be a password.
_PASSWORD_IN_URL = re.compile(r":[^@\s]*@")
# JSON columns keep Chinese text readable in the database (psql, sqlite3), not \u-escaped.
_json_dumps = functools.partial(json.dumps, ensure_ascii=False)


def connect(url: str) -> Engine:
    """An engine on `url`, with one connection made to prove the database answers.

    Raises DatabaseUnavailable (naming the URL without its password) for a URL that does
    not parse, an unknown backend or driver, or a database that cannot be reached.
    """
    try:
        given = make_url(url)
    except ArgumentError:
        raise DatabaseUnavailable(
            _PASSWORD_IN_URL.sub(":***@", url), "not a database URL"
        ) from None
    shown = shown_url(given)
    target = _with_driver(given)
    options: dict[str, Any] = {"json_serializer": _json_dumps}
    if target.get_backend_name() == "sqlite":
        _make_parent_directory(target, shown)
    elif target.get_backend_name() == "postgresql":
        options["pool_pre_ping"] = True
        if "connect_timeout" not in target.query:
            options["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT_S}
    try:
        engine = create_engine(target, **options)
    except (ArgumentError, ImportError) as error:
        raise DatabaseUnavailable(shown, _one_line(str(error), given.password)) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connected)
        event.listen(engine, "begin", _sqlite_begin)
    try:
        with engine.connect():
            pass
    except DBAPIError as error:
        engine.dispose()
        raise DatabaseUnavailable(shown, _reason(error, given.password)) from None
    return engine


def writer(engine: Engine) -> Engine:
    """The same engine (same pool) for transactions that write: on SQLite they take the
    write lock at BEGIN, so their reads are never stale when they write."""
    return engine.execution_options(**{WRITE_OPTION: True})


def shown_url(url: URL) -> str:
    """The URL as messages may show it: the password replaced by ***."""
    return url.render_as_string(hide_password=True)


def unavailable(engine: Engine, error: DBAPIError) -> DatabaseUnavailable:
    """A driver error that says the database cannot be used now (no server, a lock held
    too long), as the typed error, without the password or SQLAlchemy's long text."""
    return DatabaseUnavailable(shown_url(engine.url), error_reason(engine, error))


def error_reason(engine: Engine, error: DBAPIError) -> str:
    """What the driver said, on one line, without the password."""
    return _reason(error, engine.url.password)


def _with_driver(url: URL) -> URL:
    if url.drivername in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg")
    return url


def _make_parent_directory(url: URL, shown: str) -> None:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return
    parent = Path(database).parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatabaseUnavailable(
            shown, f"cannot create the directory {parent}: {error.strerror}"
        ) from None


def _sqlite_connected(dbapi_connection: Any, _record: Any) -> None:
    # None: the driver never emits BEGIN on its own; _sqlite_begin does, for every
    # transaction SQLAlchemy starts (reads and DDL included).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
        _switch_to_wal(cursor)
    finally:
        cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    """Put the file in WAL mode. While another connection switches a new file (two
    processes starting at once), SQLite answers "database is locked" at once, without
    its busy handler; so this waits and tries again, up to the busy timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute(_SQLITE_WAL)
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _sqlite_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _reason(error: DBAPIError, password: str | None) -> str:
    # The driver's own message: SQLAlchemy's wrapper adds the SQL and a link.
    return _one_line(str(error.orig if error.orig is not None else error), password)


def _one_line(message: str, password: str | None) -> str:
    # Drivers write several lines (psycopg adds a hint); the CLI shows one.
    text = " ".join(message.split())
    if password:
        text = text.replace(password, "***")
    return text or "no reason given"
