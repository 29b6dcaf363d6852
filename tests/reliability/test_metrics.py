"""/metrics in a deployment: several server processes report together, and a standalone worker
serves its own apply figures."""

from __future__ import annotations

import re

import httpx

from tests.conftest import VEHICLE_SCHEMA, make_account
from tests.helpers import submit
from tests.processes import Proc, free_port, wait_status


def _sum(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _up(base: str) -> str:
    try:
        return str(httpx.get(f"{base}/healthz", timeout=1).status_code)
    except httpx.HTTPError:
        return "down"


def test_every_server_process_counts_in_metrics(db, database_url, tmp_path):
    _, key = make_account(db, schema=VEHICLE_SCHEMA)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = Proc(
        database_url,
        "serve",
        "--port",
        str(port),
        "--workers",
        "2",
        log=tmp_path / "serve.log",
        CRMBATCH_EMBEDDED_WORKER="false",
    )
    try:
        wait_status(lambda: _up(base), ("200",))
        for _ in range(40):  # a new connection each time: both processes answer some
            r = httpx.get(f"{base}/v1/schema", headers={"api-key": key, "connection": "close"})
            assert r.status_code == 200
        for _ in range(3):  # whichever process answers the scrape, it counts all 40
            text = httpx.get(f"{base}/metrics", headers={"connection": "close"}).text
            assert _sum(text, "crmbatch_http_requests_total", route="/v1/schema") == 40
    finally:
        server.stop()


def test_a_worker_serves_its_own_metrics(db, database_url, tmp_path):
    account, _ = make_account(db, schema=VEHICLE_SCHEMA)
    port = free_port()
    worker = Proc(database_url, "worker", "--metrics-port", str(port), log=tmp_path / "w.log")
    try:
        submit(
            db, account.id, [{"ext_id": f"c{i}", "attributes": {"model": "x"}} for i in range(7)]
        )

        def applied() -> float:
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1).text
            except httpx.HTTPError:
                return -1
            return _sum(text, "crmbatch_records_applied_total", status="created")

        wait_status(applied, (7.0,))
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert re.search(r'crmbatch_apply_seconds_count\{kind="objects_upsert"\} 1\.0', text)
    finally:
        worker.stop()
