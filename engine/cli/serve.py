"""`omnistock serve`: the HTTP API (api.app) under uvicorn.

Without Redis the state is durable by default: one SQLite file beside the key file
(engine/store/sqlite_store.py), synced at every change, so a restart - even after a
kill -9 - finds every acknowledged publish, order and idempotency key where it was.
"""

from __future__ import annotations

import contextlib
import socket
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.engine import make_url

from engine.access.errors import UnknownKey
from engine.access.repository import key_repository
from engine.cli.common import EXIT_INPUT, err, fail, read_settings
from engine.core.errors import KNOWN_ERRORS
from engine.core.settings import STATE_FILE_NAME, Settings
from engine.db import migrate
from engine.db.connect import shown_url
from engine.db.errors import DatabaseUnavailable
from engine.services.stores import DEMO_TENANT
from engine.store.sqlite_store import StateFileError, connect

IN_MEMORY = "memory"
DEMO_KEY_FILE = "demo-key"  # beside the key file: the id of the key the last --demo made


def serve(
    host: Annotated[str, typer.Option(help="the address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="the port to listen on")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="worker processes (more than 1 needs Redis)")
    ] = 1,
    demo: Annotated[
        bool, typer.Option(help="tenant 'demo' starts with the demo data; prints a key for it")
    ] = False,
    state: Annotated[
        str | None,
        typer.Option(
            help="without Redis: the state file (SQLite; default state.db beside the key "
            "file), or 'memory' to keep state in this process only (lost when it stops)"
        ),
    ] = None,
) -> None:
    """Run the HTTP API (docs at /docs). State lives in Redis when OMNISTOCK_REDIS_URL is
    set, else in a durable file (--state); several workers need Redis to share it."""
    import uvicorn

    from api.app import served_app
    from api.placement import ConnectionShares, CountedHTTPProtocol

    config = read_settings()
    if workers > 1 and not config.redis_url:
        err.print(
            f"error: --workers {workers} needs OMNISTOCK_REDIS_URL: without Redis each worker "
            "would keep its own jobs and mode, and could sell what another worker sold",
            highlight=False,
        )
        raise typer.Exit(EXIT_INPUT)
    config = _with_state(config, state)
    _ready_database(config)
    if demo:
        config = config.model_copy(update={"demo": True})
        typer.echo(f"demo tenant ready; operator key (shown once): {_demo_key(config)}")

    # Several workers share their open-connection counts (made here, before any worker
    # starts, and handed to each as uvicorn spawns it): the HTTP protocol counts, the
    # app closes a connection of a worker above its fair share (api/placement.py).
    # Twice the slots: room for workers added by SIGTTIN, or started while the one they
    # replace still holds its slot (a worker without a slot serves, uncounted).
    shares = ConnectionShares(2 * workers) if workers > 1 and config.balance_connections else None
    # uvicorn calls `http` as a protocol class; a partial of one is typed as none.
    protocol: Any = partial(CountedHTTPProtocol, shares=shares) if shares else "auto"

    # The settings read here reach every worker inside the app factory: uvicorn pickles
    # its config (the factory with them) into each worker process it spawns.
    # A worker must answer the supervisor's health ping within the timeout; uvicorn's 5 s
    # default killed workers still importing on a busy 2-core machine (a planning
    # worker's ping thread also waits for the GIL), so it is raised to 30 s.
    server_config = uvicorn.Config(
        partial(served_app, config, shares),
        factory=True,
        host=host,
        port=port,
        workers=workers,
        timeout_worker_healthcheck=30,
        http=protocol,
    )
    server = uvicorn.Server(server_config)
    if workers > 1:
        _workers(server_config).run()
    else:
        server.run()
    if not server.started and workers == 1:
        raise typer.Exit(3)  # uvicorn's own code for a server that could not start


def _workers(server_config: Any) -> Any:
    """uvicorn's worker supervisor, where it can be, with a listening socket per worker.

    With one socket shared by all workers, every worker's event loop wakes on a new
    connection and the first to run accepts all that are queued: under 16 keep-alive
    clients all 16 connections sat on one worker while the other idled (measured with
    `ss`, 15.1 plans/s). With a socket per worker bound with SO_REUSEPORT the kernel
    spreads connections over the workers by their addresses (18.9 plans/s, same run)."""
    from uvicorn.supervisors import Multiprocess

    host, port, backlog = server_config.host, server_config.port, server_config.backlog
    if not hasattr(socket, "SO_REUSEPORT"):
        return Multiprocess(server_config, sockets=[server_config.bind_socket()])
    try:  # the first socket now: a port in use is told before any worker starts
        first = _reuse_port_socket(host, port, backlog)
    except OSError as error:
        err.print(f"error: cannot listen on {host}:{port}: {error.strerror}", highlight=False)
        raise typer.Exit(3) from None

    class PerWorkerSockets(Multiprocess):
        """Every worker uvicorn starts (at start, on a restart, on SIGHUP or SIGTTIN)
        takes `self.sockets`: here each read of it gives a socket of its own. The parent
        closes its copies once the workers hold them, so a dead worker's socket leaves
        the group instead of taking connections nobody accepts."""

        handed_out: list[socket.socket]
        ready: list[socket.socket]

        @property
        def sockets(self) -> list[socket.socket]:
            own = self.ready.pop() if self.ready else _reuse_port_socket(host, port, backlog)
            self.handed_out.append(own)
            return [own]

        @sockets.setter
        def sockets(self, given: list[socket.socket]) -> None:
            self.ready, self.handed_out = list(given), []

        def keep_subprocess_alive(self) -> None:
            # Every worker started so far has been spawned (its socket sent) by now.
            for own in self.handed_out:
                own.close()
            self.handed_out.clear()
            super().keep_subprocess_alive()

    return PerWorkerSockets(server_config, sockets=[first])


def _reuse_port_socket(host: str, port: int, backlog: int) -> socket.socket:
    """A listening socket that shares its port with the other workers' (SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    own = socket.socket(family, socket.SOCK_STREAM)
    try:
        own.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        own.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        own.bind((host, port))
        own.listen(backlog)
    except OSError:
        own.close()
        raise
    own.set_inheritable(True)
    return own


def _with_state(config: Settings, state: str | None) -> Settings:
    """The settings with the state file resolved (none with Redis or 'memory'); exits 2
    naming the file when it cannot be used."""
    if config.redis_url or state == IN_MEMORY:
        return config.model_copy(update={"state_path": None})
    path = Path(state) if state else config.state_path or config.keys_file.parent / STATE_FILE_NAME
    try:
        connect(path).close()  # made, or checked, before any worker starts
    except (StateFileError, OSError) as error:
        err.print(f"error: --state: {error}", highlight=False)
        raise typer.Exit(EXIT_INPUT) from None
    err.print(f"state: {path}", highlight=False)
    return config.model_copy(update={"state_path": path})


def _ready_database(config: Settings) -> None:
    """Migrate the relational database before any worker starts (unless
    OMNISTOCK_MIGRATE_AT_START=false, when it must already be current); exits 2 naming
    the database and the reason when it cannot be used."""
    url = config.database()
    try:
        if config.migrate_at_start:
            for revision in migrate.upgrade(url):
                err.print(f"database: applied {revision}", highlight=False)
        elif waiting := migrate.pending(url):
            raise DatabaseUnavailable(
                shown_url(make_url(url)),
                f"{len(waiting)} migration(s) pending: run `omnistock db upgrade`",
            )
    except KNOWN_ERRORS as error:
        fail(error)


def _demo_key(config: Settings) -> str:
    """A new operator key for the demo tenant; the one the previous --demo start made is
    revoked, so restarts do not pile up live keys nobody holds any more."""
    keys = key_repository(config)
    remembered = config.keys_file.parent / DEMO_KEY_FILE
    if remembered.exists():
        with contextlib.suppress(UnknownKey):
            keys.revoke(remembered.read_text(encoding="ascii").strip())
    key, record = keys.create(DEMO_TENANT, "operator")
    remembered.write_text(record.key_id + "\n", encoding="ascii")
    return key
