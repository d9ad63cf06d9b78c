"""`omnistock serve`: the HTTP API (api.app:create_app) under uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from engine.access.repository import key_repository_from_env
from engine.services.planning import DEMO_TENANT


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

    if demo:
        os.environ["OMNISTOCK_DEMO"] = "1"  # read by every worker's create_app
        key, _ = key_repository_from_env().create(DEMO_TENANT, "operator")
        typer.echo(f"demo tenant ready; operator key (shown once): {key}")

    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers)
