"""A webhook receiver that trickles its answer cannot hold anyone up (issue 15, item 5): an attempt
has one deadline, the body of a 2xx is not read, and another tenant's delivery goes out while the
slow one is still being tried. Both backends, real servers on 127.0.0.1."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.conftest import LiveServer, hook_settings, make_account, wait_process
from tests.receiver import receiver

UPSERT = "/v3/objects/vehicle/batch/upsert"
TIMEOUT = 3.0


@contextmanager
def trickling(
    answer: bytes, *, pause: float = 0.3, hold: float = 0.0
) -> Iterator[tuple[str, list[float]]]:
    """A receiver that reads the request, then sends ``answer`` one byte every ``pause`` s and
    keeps the connection open ``hold`` s more; its URL and the times at which each request
    finished arriving."""
    arrived: list[float] = []

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            conn: socket.socket = self.request
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = int(
                next(
                    (
                        line.split(b":")[1]
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    b"0",
                )
            )
            while len(body) < length:
                body += conn.recv(65536)
            arrived.append(time.monotonic())
            try:
                for byte in answer:
                    conn.sendall(bytes([byte]))
                    time.sleep(pause)
                time.sleep(hold)
            except OSError:  # the sender gave up: as it should
                pass

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", arrived
    finally:
        server.shutdown()
        server.server_close()


def one_car(ext_id: str) -> dict[str, Any]:
    return {"records": [{"identifiers": {"ext_id": ext_id}, "attributes": {"model": "m"}}]}


def delivery_of(api: Any, process_id: int) -> dict[str, Any]:
    found: list[dict[str, Any]] = api.get(f"/v1/processes/{process_id}").json()["webhooks"]
    return found[0]


def test_a_trickling_receiver_is_cut_off_and_holds_up_no_other_tenant(db, database_url):
    settings = hook_settings(database_url, webhook_timeout=TIMEOUT, webhook_retry_base=60)
    slow_tenant = make_account(
        db,
        schema={
            "object_types": {
                "vehicle": {"primary_attribute": "model", "attributes": {"model": {"type": "text"}}}
            }
        },
    )
    fast_tenant = make_account(
        db,
        schema={
            "object_types": {
                "vehicle": {"primary_attribute": "model", "attributes": {"model": {"type": "text"}}}
            }
        },
    )
    with (
        LiveServer(settings, db) as server,
        trickling(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok") as (slow_url, slow_arrived),
        receiver() as fast,
        server.client(slow_tenant[1]) as slow_api,
        server.client(fast_tenant[1]) as fast_api,
    ):
        slow_pid = slow_api.post(UPSERT, params={"notify_url": slow_url}, json=one_car("s")).json()[
            "processId"
        ]
        wait_process(slow_api, slow_pid)
        deadline = time.monotonic() + 10
        while not slow_arrived and time.monotonic() < deadline:
            time.sleep(0.01)
        assert slow_arrived, "the slow receiver was never called"
        fast_pid = fast_api.post(UPSERT, params={"notify_url": fast.url}, json=one_car("f")).json()[
            "processId"
        ]
        wait_process(fast_api, fast_pid)
        fast.wait_for(1, timeout=10)
        # the other tenant's webhook arrived while the slow attempt was still trickling
        assert time.monotonic() - slow_arrived[0] < TIMEOUT
        assert delivery_of(fast_api, fast_pid)["status"] in ("pending", "delivered")
        deadline = time.monotonic() + 10
        while delivery_of(slow_api, slow_pid)["attempts"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        given_up = time.monotonic() - slow_arrived[0]
        slow = delivery_of(slow_api, slow_pid)
    assert slow["attempts"] == 1 and slow["status"] == "pending"  # tried again later
    assert f"within {TIMEOUT:g} s" in slow["last_error"]
    assert given_up < TIMEOUT + 2.0  # cut off at its deadline (the trickle would take 12 s)


def test_a_2xx_answer_delivers_without_its_body_being_read(db, database_url, account):
    settings = hook_settings(database_url, webhook_timeout=TIMEOUT, webhook_retry_base=60)
    answer = b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n"
    with (
        trickling(answer, pause=0.0, hold=10) as (url, _),
        LiveServer(settings, db) as server,
        server.client(account[1]) as api,
    ):
        # headers arrive at once, then the body never does: the delivery is done
        pid = api.post(UPSERT, params={"notify_url": url}, json=one_car("b")).json()["processId"]
        wait_process(api, pid)
        deadline = time.monotonic() + 10
        while delivery_of(api, pid)["status"] != "delivered" and time.monotonic() < deadline:
            time.sleep(0.05)
        done = delivery_of(api, pid)
    assert done["status"] == "delivered" and done["attempts"] == 1 and done["last_status"] == 200
