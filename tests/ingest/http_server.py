"""A real HTTP server on 127.0.0.1 for ingest tests: serves given bytes per path, and can misbehave on purpose.

Each route is one `Route`: the bytes to serve and how to fail first (429 with Retry-After, 500 always or a few
times, a body cut off before its Content-Length). Every request is counted per path, so tests can check how
often the client asked.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Route:
    body: bytes
    content_type: str = "application/json"
    fail_first: int = 0  # answer `fail_status` to this many requests, then serve the body
    fail_status: int = 500
    retry_after: str | None = None  # sent with each failing answer
    always_fail: bool = False  # answer `fail_status` to every request
    truncate: bool = False  # announce the full Content-Length, send half the bytes, close the connection
    trickle: float = 0  # send the body one byte at a time, this many seconds apart
    no_length: bool = False  # send no Content-Length: the body ends when the connection closes


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = self.path.split("?")[0]
        with self.server.lock:
            self.server.requests[path] += 1
            seen = self.server.requests[path]
        route = self.server.routes.get(path)
        if route is None:
            self._answer(404, b"not found", "text/plain")
            return
        if route.always_fail or seen <= route.fail_first:
            headers = {"Retry-After": route.retry_after} if route.retry_after is not None else {}
            self._answer(route.fail_status, b'{"error": "try again"}', "application/json", headers)
            return
        if route.truncate:
            self.send_response(200)
            self.send_header("Content-Type", route.content_type)
            self.send_header("Content-Length", str(len(route.body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(route.body[: len(route.body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if route.trickle or route.no_length:
            self.send_response(200)
            self.send_header("Content-Type", route.content_type)
            if not route.no_length:
                self.send_header("Content-Length", str(len(route.body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                if not route.trickle:
                    self.wfile.write(route.body)
                for i in range(len(route.body) if route.trickle else 0):
                    self.wfile.write(route.body[i : i + 1])
                    self.wfile.flush()
                    time.sleep(route.trickle)
            except OSError:
                pass  # the client gave up, as it should
            return
        self._answer(200, route.body, route.content_type)

    def _answer(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's signature)
        pass  # keep test output quiet; requests are counted instead


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, Route] = {}
        self.requests: Counter[str] = Counter()
        self.lock = threading.Lock()


class OCDSServer:
    """The test-facing side: add routes, get their URLs, read how many requests each path received."""

    def __init__(self, server: _Server) -> None:
        self._server = server

    def serve(self, path: str, body: bytes, **behaviour: Any) -> str:
        if not path.startswith("/"):
            path = "/" + path
        self._server.routes[path] = Route(body=body, **behaviour)
        return self.url(path)

    def url(self, path: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def requests(self, path: str) -> int:
        with self._server.lock:
            return self._server.requests[path if path.startswith("/") else "/" + path]


@contextmanager
def running_server() -> Iterator[OCDSServer]:
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield OCDSServer(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
