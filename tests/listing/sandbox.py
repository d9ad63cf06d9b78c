"""Run a sandbox marketplace on a free loopback port, in a background thread, for the
length of a `with` block: the tests talk to it over real HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import uvicorn

from engine.listing.sandbox import SandboxConfig, create_sandbox_app


@contextmanager
def running_sandbox(
    config: SandboxConfig | None = None, clock: Callable[[], float] = time.time
) -> Iterator[str]:
    """Yields the sandbox's root URL (http://127.0.0.1:PORT); a platform's base URL is
    that root plus /<platform>."""
    app = create_sandbox_app(config or SandboxConfig(), clock=clock)
    # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on sockets that say so, and
    # without it each answer (headers, then body) waits 40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the sandbox did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
