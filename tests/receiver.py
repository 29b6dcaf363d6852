"""A real HTTP server on 127.0.0.1 that records the webhooks it gets and answers as scripted."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Receiver:
    url: str
    #: statuses to answer, in order; 200 once they run out
    script: list[int] = field(default_factory=list)
    #: extra headers per answer status (e.g. a Location for a 302)
    answer_headers: dict[int, dict[str, str]] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, n: int, timeout: float = 20) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= n:
                    return list(self.requests)
            time.sleep(0.02)
        raise AssertionError(f"expected {n} webhook(s), got {len(self.requests)} in {timeout}s")

    def successes(self) -> list[Received]:
        with self.lock:
            return [r for r, s in zip(self.requests, self.answered, strict=True) if s < 300]


@contextmanager
def receiver(script: list[int] | None = None, **kw: Any) -> Iterator[Receiver]:
    state = Receiver(url="", script=list(script or []), **kw)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would

        def do_POST(self) -> None:
            size = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(size)
            with state.lock:
                status = state.script.pop(0) if state.script else 200
                state.requests.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                state.answered.append(status)
            self.send_response(status)
            for name, value in state.answer_headers.get(status, {}).items():
                self.send_header(name, value)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Handler) as port:
        state.url = f"http://127.0.0.1:{port}/hooks/crm"
        yield state


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """A real HTTP server on 127.0.0.1 answering with ``handler``, in a thread; its port."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(httpd.server_address[1])
    finally:
        httpd.shutdown()
        httpd.server_close()
