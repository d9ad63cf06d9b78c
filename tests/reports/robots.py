"""A chat group robot on loopback for the tests: a real HTTP server standing in for
WeCom's and DingTalk's webhooks, keeping every post (when, the query, the JSON body)
and giving scripted answers first (HTTP 502, errcode 45009...), then errcode 0."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Post:
    at: float  # time.monotonic()
    path: str
    query: dict[str, str]
    body: dict[str, Any]


@dataclass
class Robot:
    url: str  # http://127.0.0.1:port
    posts: list[Post] = field(default_factory=list)
    # Answers still to give, one per post: (HTTP status, JSON body).
    script: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def webhook(self, channel: str, token: str = "t0k3n-abcdef") -> str:
        if channel == "wecom":
            return f"{self.url}/cgi-bin/webhook/send?key={token}"
        return f"{self.url}/robot/send?access_token={token}"


@contextmanager
def chat_robot() -> Iterator[Robot]:
    robot = Robot("")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            with lock:
                robot.posts.append(Post(time.monotonic(), parts.path, query, body))
                status, answer = robot.script.pop(0) if robot.script else (200, {})
            data = json.dumps({"errcode": 0, "errmsg": "ok", **answer}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the test reads the posts

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    robot.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield robot
    finally:
        server.shutdown()
        server.server_close()
