"""`omnistock serve`: the HTTP API (api.app) under uvicorn."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import typer

from engine.access.repository import key_repository
from engine.cli.common import read_settings
from engine.services.stores import DEMO_TENANT


def serve(
    host: Annotated[str, typer.Option(help="the address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="the port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="worker processes")] = 1,
    demo: Annotated[
        bool, typer.Option(help="tenant 'demo' starts with the demo data; prints a key for it")
    ] = False,
) -> None:
    """Run the HTTP API (docs at /docs). State is in memory per process unless
    OMNISTOCK_REDIS_URL is set; with several workers, set it so they share one state."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from api.app import served_app

    config = read_settings()
    if demo:
        config = config.model_copy(update={"demo": True})
        key, _ = key_repository(config).create(DEMO_TENANT, "operator")
        typer.echo(f"demo tenant ready; operator key (shown once): {key}")

    # The settings read here reach every worker inside the app factory: uvicorn pickles
    # its config (the factory with them) into each worker process it spawns.
    server_config = uvicorn.Config(
        partial(served_app, config), factory=True, host=host, port=port, workers=workers
    )
    server = uvicorn.Server(server_config)
    if workers > 1:
        Multiprocess(server_config, sockets=[server_config.bind_socket()]).run()
    else:
        server.run()
    if not server.started and workers == 1:
        raise typer.Exit(3)  # uvicorn's own code for a server that could not start
