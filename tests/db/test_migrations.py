"""The database layer on both backends: migrations to head and no further, a schema
that is exactly the tables' metadata, how connections are set up, and the `omnistock db`
commands, whose errors are one line without the password."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from typer.testing import CliRunner

import engine.catalog.tables  # noqa: F401 - registers the catalog's tables on Base.metadata
import engine.listing.tables  # noqa: F401 - and the listing's
import engine.reports.builds  # noqa: F401 - and the reports' builds
import engine.reports.tables  # noqa: F401 - and their delivery
import engine.settlement.tables  # noqa: F401 - and the settlement's
from engine.cli.app import app
from engine.db import migrate
from engine.db.base import Base
from engine.db.connect import connect
from engine.db.errors import DatabaseUnavailable, MigrationFailed
from tests.db.databases import BACKENDS, blank_database

ALL = [
    "0001_catalog",
    "0002_listing",
    "0003_settlement",
    "0004_reports",
    "0005_report_builds",
    "0006_listing_counts",
]
HEAD = ALL[-1]
# Nothing listens on port 1: the connection is refused at once.
DEAD_URL = "postgresql://omni:s3cret-pw@127.0.0.1:1/omnistock"


@pytest.fixture(params=BACKENDS)
def blank_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with blank_database(request.param, tmp_path) as url:
        yield url


def test_upgrade_applies_every_migration_once(blank_url: str) -> None:
    assert migrate.current(blank_url) is None
    assert migrate.pending(blank_url) == ALL
    assert migrate.upgrade(blank_url) == ALL
    assert migrate.current(blank_url) == HEAD == migrate.head()
    assert migrate.pending(blank_url) == []
    # Twice is a no-op.
    assert migrate.upgrade(blank_url) == []
    assert migrate.current(blank_url) == HEAD


def test_migrated_schema_is_the_metadata(blank_url: str) -> None:
    migrate.upgrade(blank_url)
    engine = connect(blank_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            # The comparison does see a difference: drop an index and it names it.
            connection.execute(text("DROP INDEX ix_catalog_skus_tenant_sku_code"))
            diffs = compare_metadata(context, Base.metadata)
            assert [d[0] for d in diffs] == ["add_index"]
            assert diffs[0][1].name == "ix_catalog_skus_tenant_sku_code"
    finally:
        engine.dispose()


def test_a_migration_that_fails_leaves_the_database_as_it_was(blank_url: str) -> None:
    engine = connect(blank_url)
    try:
        # A table of that name already: the migration fails on its third table.
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE catalog_skus (x INTEGER)"))
        with pytest.raises(MigrationFailed, match="catalog_skus") as caught:
            migrate.upgrade(blank_url)
        assert "\n" not in str(caught.value)
        with engine.connect() as connection:
            assert inspect(connection).get_table_names() == ["catalog_skus"]
        assert migrate.current(blank_url) is None
    finally:
        engine.dispose()


def test_two_upgrades_at_once_apply_each_migration_once(blank_url: str) -> None:
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(migrate.upgrade(blank_url))
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(results) == [[], ALL]
    assert migrate.current(blank_url) == HEAD


def test_sqlite_is_set_up_for_durable_concurrent_use(tmp_path: Path) -> None:
    path = tmp_path / "not" / "yet" / "there.db"
    engine = connect(f"sqlite:///{path}")
    try:
        assert path.parent.is_dir()
        with engine.connect() as connection:
            assert connection.scalar(text("PRAGMA foreign_keys")) == 1
            assert connection.scalar(text("PRAGMA journal_mode")) == "wal"
            assert connection.scalar(text("PRAGMA busy_timeout")) == 10_000
            assert connection.scalar(text("PRAGMA synchronous")) == 2  # FULL
    finally:
        engine.dispose()


def test_postgresql_urls_use_psycopg(blank_url: str) -> None:
    if not blank_url.startswith("postgresql"):
        assert connect(blank_url).dialect.driver == "pysqlite"
        return
    engine = connect(blank_url)
    try:
        assert engine.dialect.driver == "psycopg"
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT 1")) == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "url",
    [
        DEAD_URL,
        "postgres://omni:s3cret-pw@127.0.0.1:1/omnistock",
        "mysql+nosuchdriver://omni:s3cret-pw@127.0.0.1/omnistock",
        "nosuchdb://omni:s3cret-pw@127.0.0.1/omnistock",
        "not a url, but with :s3cret-pw@ in it",
    ],
)
def test_an_unusable_url_is_unavailable_without_its_password(url: str) -> None:
    with pytest.raises(DatabaseUnavailable) as caught:
        connect(url)
    message = str(caught.value)
    assert "s3cret-pw" not in message
    assert "\n" not in message
    assert caught.value.reason


def test_sqlite_in_a_directory_that_cannot_be_made(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(DatabaseUnavailable, match="cannot create the directory"):
        connect(f"sqlite:///{blocker / 'sub' / 'omnistock.db'}")


def test_db_commands_upgrade_and_show_the_revision(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"OMNISTOCK_DATABASE_URL": f"sqlite:///{tmp_path / 'cli' / 'omnistock.db'}"}

    before = runner.invoke(app, ["db", "current"], env=env)
    assert before.exit_code == 0, before.output
    assert before.stdout.strip() == "none"
    assert f"{len(ALL)} migration(s) to apply ({', '.join(ALL)})" in before.stderr

    first = runner.invoke(app, ["db", "upgrade"], env=env)
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines() == [f"applied {name}" for name in ALL]

    again = runner.invoke(app, ["db", "upgrade"], env=env)
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines() == [f"nothing to apply: at {HEAD}"]

    now = runner.invoke(app, ["db", "current"], env=env)
    assert now.exit_code == 0, now.output
    assert now.stdout.strip() == HEAD
    assert now.stderr == ""


@pytest.mark.parametrize("command", ["upgrade", "current"])
def test_db_commands_on_a_database_that_does_not_answer(command: str) -> None:
    result = CliRunner().invoke(app, ["db", command], env={"OMNISTOCK_DATABASE_URL": DEAD_URL})
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "s3cret-pw" not in result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: database postgresql://omni:***@127.0.0.1:1/omnistock")
    assert result.stdout == ""
