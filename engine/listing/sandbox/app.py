"""The sandbox marketplace as a FastAPI app: five platforms' gateways on one port.

Each platform lives under its own prefix, the adapters' base URL: {root}/taobao and
{root}/tmall (TOP, POST .../router/rest), {root}/jd (POST .../routerjson), {root}/pdd
(POST .../api/router), {root}/douyin (POST .../<method path>, product/addV2). A call is
read, its credentials checked, counted against its shop's limit, perhaps failed on
purpose (config.fail_rate), and carried out on the Market; the answer is the platform's
shape, with HTTP 200 for the platform's own errors as the platforms do, and a bare 502
for an injected server failure.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from engine.catalog.registry import Registry, default_registry
from engine.listing.adapters.shapes import SHAPES
from engine.listing.marketplace import ErrorCode
from engine.listing.sandbox.config import SandboxConfig
from engine.listing.sandbox.market import Fault, Market, Refusal
from engine.listing.sandbox.wire import authenticate, carry_out, error_body, ok_body, read_call

__all__ = ["create_sandbox_app"]

# The gateway path of each wire family under its platform's prefix ("" : any method path).
_PATHS = {"top": "router/rest", "jd": "routerjson", "pdd": "api/router", "douyin": ""}


def create_sandbox_app(
    config: SandboxConfig | None = None,
    *,
    registry: Registry | None = None,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """A sandbox marketplace; `clock` (seconds) drives the call limits and timed reviews."""
    config = config or SandboxConfig()
    market = Market(config, registry or default_registry(), clock)
    app = FastAPI(title="omnistock sandbox marketplace", docs_url=None, redoc_url=None)
    app.state.market = market

    @app.get("/healthz")
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/{platform}/{path:path}")
    async def gateway(platform: str, path: str, request: Request) -> Response:
        shape = SHAPES.get(platform)
        expected = _PATHS.get(shape.family) if shape else None
        if shape is None or expected is None or (expected and path != expected):
            return PlainTextResponse("no such gateway", status_code=404)
        body = await request.body()
        form: dict[str, str] = {}
        if shape.family != "douyin":
            # application/x-www-form-urlencoded, read here (no multipart dependency).
            text = body.decode("utf-8", errors="replace")
            form = dict(parse_qsl(text, keep_blank_values=True))
        method = ""
        try:
            call = read_call(platform, path, form, dict(request.query_params), body)
            method = call.method
            authenticate(config, call)
            market.admit(platform, call.token, call.method)
            fault = market.fault()
            if fault == Fault.SERVER:
                return PlainTextResponse("bad gateway", status_code=502)
            if fault == Fault.TIMEOUT:
                # Past the client's time-out; the call is still carried out, as a platform
                # may well have done: the client cannot know whether it took effect.
                await asyncio.sleep(config.timeout_sleep_s)
            if len(body) > config.max_body_bytes:
                detail = f"a request of {len(body)} bytes; the limit is {config.max_body_bytes}"
                raise Refusal(ErrorCode.SCHEMA_REFUSAL, detail)
            data = carry_out(market, call)
        except Refusal as refusal:
            return JSONResponse(error_body(platform, method, refusal))
        return JSONResponse(ok_body(platform, method, data))

    return app
