"""The `omnistock` command line: plan, validate, explain, demo, bench, load, rank, select,
check, keys, serve, worker, scenario, db, catalog, prices, sandbox, listing, settle,
forecast, report. Each command (or group) is a module of engine/cli/; this one only
names them.

Commands are imported when they are run, not when the process starts: the command groups
together import polars, FastAPI, SQLAlchemy and scipy.optimize (seconds of start-up),
and `omnistock plan` needs none of them.

Exit codes: 0 ok, 2 invalid input, 3 hard rules that cannot all hold, 4 solver failure.
Errors go to stderr as a list naming the file, field, rule or SKU - never a traceback.
"""

from __future__ import annotations

import importlib
from typing import Any, NamedTuple

import typer
from typer.core import TyperGroup


class Entry(NamedTuple):
    module: str  # engine.cli.<module>
    attr: str  # a command function, or a typer.Typer of subcommands


COMMANDS: dict[str, Entry] = {
    "plan": Entry("plan", "plan"),
    "validate": Entry("plan", "validate"),
    "explain": Entry("plan", "explain"),
    "demo": Entry("plan", "demo"),
    "bench": Entry("bench", "bench"),
    "bench-e2e": Entry("bench_e2e", "bench_e2e"),
    "load": Entry("load", "load"),
    "rank": Entry("shelf", "rank"),
    "select": Entry("shelf", "select"),
    "check": Entry("shelf", "check"),
    "keys": Entry("keys", "keys"),
    "serve": Entry("serve", "serve"),
    "worker": Entry("worker", "worker"),
    "scenario": Entry("scenario", "scenario"),
    "db": Entry("db", "db"),
    "catalog": Entry("catalog", "catalog"),
    "prices": Entry("prices", "prices"),
    "sandbox": Entry("sandbox", "sandbox"),
    "listing": Entry("listing", "listing"),
    "settle": Entry("settle", "settle"),
    "forecast": Entry("forecast", "forecast_app"),
    "report": Entry("report", "report"),
}


class LazyCommands(TyperGroup):
    """A group whose commands are imported on first use (click's lazy-loading
    pattern); only `--help`, which lists them all, imports every one. (Typer ships
    its own click: its Context and Command types are private, hence Any.)"""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        target = getattr(importlib.import_module(f"engine.cli.{entry.module}"), entry.attr)
        if not isinstance(target, typer.Typer):
            single = typer.Typer(add_completion=False)
            single.command(name=cmd_name)(target)
            target = single
        # A group built on its own would offer shell completion options of its own; the
        # root has none (as when the groups were added to it).
        target._add_completion = False
        command = typer.main.get_command(target)
        command.name = cmd_name
        return command


app = typer.Typer(cls=LazyCommands, add_completion=False, no_args_is_help=True, help=__doc__)


@app.callback()
def _root() -> None:
    """Makes `app` a group of the commands above, with no command of its own."""


def main() -> None:  # pragma: no cover - console entry point
    # Before any command imports numpy (engine/core/settings.py says why).
    from engine.core.settings import one_blas_thread

    one_blas_thread()
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
