"""`omnistock sandbox serve`: the sandbox marketplace (engine/listing/sandbox/) on a port,
for trying listing against five platforms' request shapes without reaching any of them.

A platform's base URL is http://HOST:PORT/<platform> (taobao, tmall, jd, pdd, douyin);
the default credentials are app key `sandbox-app`, secret `sandbox-secret`, and a shop's
access token is its shop id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn

from engine.cli.common import err, fail
from engine.core.errors import InputError
from engine.listing.sandbox import SandboxConfig, create_sandbox_app, load_config, parse_config

sandbox = typer.Typer(help="The sandbox marketplace for listing tests.", no_args_is_help=True)


def sandbox_config(
    path: Path | None, fail_rate: float | None, drop_rate: float | None, seed: int | None
) -> SandboxConfig:
    """The file's config (or the defaults) with the options laid over it."""
    base = load_config(path) if path is not None else SandboxConfig()
    given: dict[str, Any] = {"fail_rate": fail_rate, "drop_rate": drop_rate, "seed": seed}
    over = {k: v for k, v in given.items() if v is not None}
    doc = {**base.model_dump(), **over}
    return parse_config(doc, "options" if over else str(path or "defaults"))


@sandbox.command()
def serve(
    port: Annotated[int, typer.Option(help="the port to listen on")] = 8900,
    host: Annotated[str, typer.Option(help="the address to listen on")] = "127.0.0.1",
    fail_rate: Annotated[
        float | None, typer.Option(help="share of calls failing transiently (0..1)")
    ] = None,
    drop_rate: Annotated[
        float | None, typer.Option(help="share of updates answered ok and not applied (0..1)")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="seed of the injected faults")] = None,
    config: Annotated[
        Path | None, typer.Option(help="a YAML or JSON sandbox config (limits, review, words)")
    ] = None,
) -> None:
    """Serve the sandbox marketplace until interrupted."""
    try:
        settings = sandbox_config(config, fail_rate, drop_rate, seed)
    except InputError as error:
        fail(error)
    err.print(f"sandbox marketplace on http://{host}:{port}/<platform>", highlight=False)
    uvicorn.run(create_sandbox_app(settings), host=host, port=port, log_level="warning")
