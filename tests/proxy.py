"""A test double in front of a real crmbatch server: a real HTTP server on 127.0.0.1 that
forwards every request, except that batch POSTs follow a script of failures."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx

from tests.receiver import serving

#: what the double does with one batch POST
FORWARD = "forward"  # pass it on and answer what the server answered
LOST = "lost"  # pass it on, then answer 503: the batch arrived but the client cannot know
DOWN = "down"  # close the connection without an answer (the network is down)


@dataclass
class Proxy:
    url: str
    upstream: str
    #: one entry per batch POST, in order: an action above or a status to answer (429, 503);
    #: once it runs out, ``then``
    script: list[str | int] = field(default_factory=list)
    then: str | int = FORWARD
    retry_after: str = "0"
    #: path prefixes answered 404, as a server that lacks them would (``/v1/``: not crmbatch)
    hide: tuple[str, ...] = ()
    #: (action, Idempotency-Key) of each batch POST, in order
    seen: list[tuple[str | int, str | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def forwarded(self) -> int:
        return sum(1 for action, _ in self.seen if action in (FORWARD, LOST))


@contextmanager
def proxy(upstream: str, script: list[str | int] | None = None, **kw: Any) -> Iterator[Proxy]:
    state = Proxy(url="", upstream=upstream, script=list(script or []), **kw)
    client = httpx.Client(base_url=upstream, timeout=30)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self, body: bytes | None) -> httpx.Response:
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            return client.request(self.command, self.path, content=body, headers=headers)

        def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self) -> None:
            size = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(size) if size else None
            if self.path.startswith(state.hide):
                self._answer(404, b'{"code":"document_not_found","message":"no such path"}', {})
                return
            action: str | int = FORWARD
            if self.command == "POST" and "/batch/" in self.path:
                with state.lock:
                    action = state.script.pop(0) if state.script else state.then
                    state.seen.append((action, self.headers.get("idempotency-key")))
            if action == DOWN:
                self.close_connection = True
                self.connection.close()
                return
            if isinstance(action, int):
                body_out = b'{"code":"unavailable","message":"scripted failure"}'
                self._answer(action, body_out, {"retry-after": state.retry_after})
                return
            r = self._forward(body)
            if action == LOST:
                self._answer(503, b'{"code":"unavailable","message":"lost"}', {})
                return
            self._answer(r.status_code, r.content, dict(r.headers))

        do_GET = do_POST = do_PUT = _handle

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Handler) as port, client:
        state.url = f"http://127.0.0.1:{port}"
        yield state
