"""Schema migrations, run from code: `omnistock db upgrade`, `omnistock serve` at start.

The scripts live in engine/db/migrations (Alembic's layout, found through this package,
so no alembic.ini is needed). An upgrade is one transaction under a lock: PostgreSQL
runs DDL in transactions and holds an advisory lock, SQLite holds its write lock from
BEGIN; so two servers starting at once apply each migration once, and a migration that
fails leaves the database as it was.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from engine.db.connect import connect, error_reason, shown_url, unavailable, writer
from engine.db.errors import MigrationFailed

MIGRATIONS = Path(__file__).with_name("migrations")
# pg_advisory_xact_lock's key for "a migration runs": any constant no other lock uses.
_PG_LOCK_KEY = 0x6F6D6E69_6462  # "omnidb"


def upgrade(url: str) -> list[str]:
    """Apply every migration the database lacks; returns their revisions, oldest first
    (empty when it was at head already)."""
    engine = connect(url)
    try:
        with writer(engine).begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY}
                )
            todo = _pending(connection, engine)
            if todo:
                config = _config()
                # env.py runs the scripts on this connection, inside this transaction.
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        return todo
    except DBAPIError as error:
        raise MigrationFailed(shown_url(engine.url), error_reason(engine, error)) from None
    finally:
        engine.dispose()


def current(url: str) -> str | None:
    """The database's revision; None before the first migration."""
    engine = connect(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except DBAPIError as error:
        raise unavailable(engine, error) from None
    finally:
        engine.dispose()


def pending(url: str) -> list[str]:
    """The revisions an upgrade would apply, oldest first."""
    engine = connect(url)
    try:
        with engine.connect() as connection:
            return _pending(connection, engine)
    except DBAPIError as error:
        raise unavailable(engine, error) from None
    finally:
        engine.dispose()


def head() -> str:
    """The newest revision this version of omnistock ships."""
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None, "engine/db/migrations has no revision"
    return revision


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _pending(connection: Connection, engine: Engine) -> list[str]:
    at = MigrationContext.configure(connection).get_current_revision()
    scripts = ScriptDirectory.from_config(_config())
    try:
        # Newest first, down to (not including) the database's revision.
        newer = list(scripts.iterate_revisions("heads", at or "base"))
    except CommandError:
        raise MigrationFailed(
            shown_url(engine.url),
            f"it is at revision {at}, which this version of omnistock does not know "
            "(made by a newer version?)",
        ) from None
    return [script.revision for script in reversed(newer)]
