"""`omnistock db upgrade|current`: the relational database's schema (catalog and the
modules after it), at the URL of OMNISTOCK_DATABASE_URL (default: omnistock.db beside the
key file). `omnistock serve` upgrades at start unless OMNISTOCK_MIGRATE_AT_START=false;
this is the same step for a deploy that runs it once, before the servers.
"""

from __future__ import annotations

import typer

from engine.cli.common import err, fail, read_settings
from engine.core.errors import KNOWN_ERRORS
from engine.db import migrate

db = typer.Typer(
    help="The relational database: apply migrations, show the revision.", no_args_is_help=True
)


@db.command()
def upgrade() -> None:
    """Apply every migration the database lacks, printing each one applied."""
    try:
        applied = migrate.upgrade(read_settings().database())
    except KNOWN_ERRORS as error:
        fail(error)
    for revision in applied:
        typer.echo(f"applied {revision}")
    if not applied:
        typer.echo(f"nothing to apply: at {migrate.head()}")


@db.command()
def current() -> None:
    """Print the database's revision ("none" before the first migration)."""
    try:
        url = read_settings().database()
        revision = migrate.current(url)
        todo = migrate.pending(url)
    except KNOWN_ERRORS as error:
        fail(error)
    typer.echo(revision or "none")
    if todo:
        err.print(
            f"{len(todo)} migration(s) to apply ({', '.join(todo)}): run `omnistock db upgrade`",
            highlight=False,
            soft_wrap=True,
        )
