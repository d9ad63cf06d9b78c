"""Alembic's entry point: runs the migration scripts on the connection that
engine/db/migrate.py opened (inside its transaction and lock). There is no alembic.ini
and no URL here: migrations are applied through `omnistock db upgrade` or at start of
`omnistock serve`, both of which read the URL from the settings."""

from __future__ import annotations

from alembic import context

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `omnistock db upgrade` (engine.db.migrate)")

# The scripts are written by hand; target_metadata is only set by a caller that wants to
# compare (autogenerate).
context.configure(connection=connection, target_metadata=config.attributes.get("metadata"))
with context.begin_transaction():
    context.run_migrations()
