"""`omnistock keys create|list|revoke`: the API keys of the service, in the key file
(OMNISTOCK_KEYS_FILE, default .omnistock/keys.json). A new key is printed once, alone on
stdout so that `KEY=$(omnistock keys create ...)` captures it; only its hash is stored.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from engine.access.repository import key_repository
from engine.access.roles import Role
from engine.cli.common import add_plain_row, err, fail, read_settings
from engine.core.errors import KNOWN_ERRORS, InputError, Issue

keys = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)
out = Console()

ROLES = ", ".join(r.value for r in Role)


@keys.command()
def create(
    tenant: Annotated[str, typer.Option(help="the tenant (agency) the key acts for")],
    role: Annotated[str, typer.Option(help=f"one of: {ROLES}")],
    brand: Annotated[
        str | None, typer.Option(help="the one brand a brand_viewer key may read")
    ] = None,
) -> None:
    """Make a key, print it once (store it now) and keep only its hash."""
    try:
        config = read_settings()
        key, record = key_repository(config).create(tenant, role, brand)
    except InputError as error:
        # The library names the record's fields; here the user typed options.
        fail(InputError([Issue(f"--{i.path}", i.message) for i in error.issues]))
    except KNOWN_ERRORS as error:
        fail(error)
    sys.stdout.write(key + "\n")
    scope = f"tenant {record.tenant}" + (f", brand {record.brand}" if record.brand else "")
    err.print(
        f"created key {record.key_id} ({record.role}, {scope}) in {config.keys_file}; "
        "the key above is shown only this once",
        highlight=False,
        soft_wrap=True,
    )


@keys.command("list")
def list_keys(
    tenant: Annotated[str | None, typer.Option(help="only this tenant's keys")] = None,
) -> None:
    """Show key ids, tenants, roles and brands (never a key)."""
    try:
        config = read_settings()
        records = key_repository(config).list_keys(tenant)
    except KNOWN_ERRORS as error:
        fail(error)
    table = Table(title=f"keys in {config.keys_file}", title_justify="left")
    for col in ("id", "tenant", "role", "brand", "created", "revoked"):
        table.add_column(col)
    for r in records:
        revoked = f"{r.revoked_at:%Y-%m-%d %H:%M}" if r.revoked_at else ""
        created = f"{r.created_at:%Y-%m-%d %H:%M}"
        add_plain_row(table, r.key_id, r.tenant, r.role.value, r.brand or "", created, revoked)
    out.print(table)


@keys.command()
def revoke(
    key_id: Annotated[str, typer.Argument(metavar="KEY_ID", help="the id `keys list` shows")],
) -> None:
    """Refuse a key from now on; its record stays, marked revoked."""
    try:
        record = key_repository(read_settings()).revoke(key_id)
    except KNOWN_ERRORS as error:
        fail(error)
    when = record.revoked_at.isoformat(timespec="seconds") if record.revoked_at else ""
    out.print(f"key {record.key_id} revoked at {when}", highlight=False)
