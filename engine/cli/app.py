"""The `omnistock` command line: plan, validate, explain, demo, bench, load, rank, select,
check, keys, serve, worker, scenario, db, catalog, prices, sandbox. Each command group is a
module of engine/cli/; this one only assembles them.

Exit codes: 0 ok, 2 invalid input, 3 hard rules that cannot all hold, 4 solver failure.
Errors go to stderr as a list naming the file, field, rule or SKU - never a traceback.
"""

from __future__ import annotations

import typer

from engine.cli import shelf
from engine.cli.bench import bench
from engine.cli.catalog import catalog
from engine.cli.db import db
from engine.cli.keys import keys
from engine.cli.listing import listing
from engine.cli.load import load
from engine.cli.plan import demo, explain, plan, validate
from engine.cli.prices import prices
from engine.cli.sandbox import sandbox
from engine.cli.scenario import scenario
from engine.cli.serve import serve
from engine.cli.settle import settle
from engine.cli.worker import worker

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)

for command in (plan, validate, explain, demo, bench, load, shelf.rank, shelf.select, shelf.check):
    app.command()(command)
app.add_typer(keys, name="keys")
app.command()(serve)
app.command()(worker)
app.add_typer(scenario, name="scenario")
app.add_typer(db, name="db")
app.add_typer(catalog, name="catalog")
app.add_typer(prices, name="prices")
app.add_typer(sandbox, name="sandbox")
app.add_typer(listing, name="listing")
app.add_typer(settle, name="settle")  # the bare run and `settle bench`


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
