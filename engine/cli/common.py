"""What every omnistock command shares: exit codes and how an error is shown."""

from __future__ import annotations

from typing import NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from engine.core.errors import ConflictError, InputError, Issue, OmnistockError, SolverError
from engine.core.settings import Settings

EXIT_INPUT, EXIT_CONFLICT, EXIT_SOLVER = 2, 3, 4
err = Console(stderr=True)


def read_settings() -> Settings:
    """The settings of this command's run: read from the environment when a command
    starts (each command is one process start) and passed down from there. A variable
    that does not parse exits with code 2, naming it."""
    try:
        return Settings()
    except ValidationError as error:
        issues = [
            Issue(f"OMNISTOCK_{'_'.join(str(p) for p in e['loc']).upper()}", e["msg"])
            for e in error.errors()
        ]
        fail(InputError(issues, "environment"))


def fail(error: OmnistockError | SolverError) -> NoReturn:
    """Print the error (never a traceback) and exit with its code."""
    # Messages quote inputs ("[first, last]"): escaped, or rich reads them as markup.
    err.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
    code = EXIT_INPUT
    if isinstance(error, ConflictError):
        code = EXIT_CONFLICT
    elif isinstance(error, SolverError):
        code = EXIT_SOLVER
    raise typer.Exit(code)


def add_plain_row(table: Table, *values: str) -> None:
    """A table row of data, shown as is: ids and messages may hold brackets that rich
    would otherwise read as markup."""
    table.add_row(*(Text(value) for value in values))
