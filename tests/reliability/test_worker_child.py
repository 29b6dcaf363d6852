"""The worker ``crmbatch serve`` runs as a child process (the embedded default): killed in the
middle of a batch it is started again and the batch is applied once, at once (what the dead
child held is queued again, not left until its lease runs out); ``/healthz`` and
``/metrics`` cover it; stopping the server stops it; a server killed outright leaves no worker
behind. A real ``crmbatch serve`` on each backend."""

from __future__ import annotations

import os
import re
import signal
import time
from typing import Any

import httpx
import sqlalchemy as sa

from crmbatch.db.tables import record_history, records
from tests.conftest import VEHICLE_SCHEMA, make_account, wait_process
from tests.processes import serve, wait_status

UPSERT = "/v3/objects/vehicle/batch/upsert"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped) is not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _count(db: Any, table: Any) -> int:
    with db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_a_worker_child_killed_mid_batch_is_restarted_and_applies_it_once(
    db, database_url, tmp_path
):
    _, key = make_account(db, schema=VEHICLE_SCHEMA)
    server, base = serve(
        database_url,
        tmp_path / "serve.log",
        CRMBATCH_EMBEDDED_WORKER="true",
        CRMBATCH_DEBUG_APPLY_DELAY="1.5",
        # far longer than the test may wait: the dead child's batch must be queued again at
        # once, not when its lease runs out
        CRMBATCH_LEASE_SECONDS="120",
    )
    try:
        with httpx.Client(base_url=base, headers={"api-key": key}, timeout=30) as api:
            health = api.get("/healthz").json()
            first = health["processes"]["worker"]
            assert health["status"] == "ok" and first["running"] and first["restarts"] == 0
            assert first["pid"] != health["processes"]["api"]["pid"]
            body = {
                "records": [
                    {"identifiers": {"ext_id": f"c{i}"}, "attributes": {"model": "m"}}
                    for i in range(300)
                ]
            }
            pid = api.post(UPSERT, json=body).json()["processId"]
            wait_status(lambda: api.get(f"/v1/processes/{pid}").json()["status"], ("in_process",))
            time.sleep(0.5)  # inside the apply transaction: written, not committed
            os.kill(first["pid"], signal.SIGKILL)
            done = wait_process(api, pid, timeout=30)
            assert done["status"] == "completed" and done["attempts"] == 2
            assert done["counts"]["created"] == 300
            later = api.get("/healthz").json()["processes"]["worker"]
            assert later["running"] and later["restarts"] == 1 and later["pid"] != first["pid"]
            applied = api.get("/metrics").text
            # the restarted child's applies show in the server's /metrics
            match = re.search(
                r'crmbatch_records_applied_total\{kind="objects_upsert",status="created"\} (\S+)',
                applied,
            )
            assert match is not None and float(match.group(1)) == 300
        assert _count(db, records) == 300 and _count(db, record_history) == 300
    finally:
        server.stop()
    assert not _alive(later["pid"]), "stopping the server stops its worker"


def test_a_server_killed_outright_leaves_no_worker_behind(db, database_url, tmp_path):
    server, base = serve(database_url, tmp_path / "serve.log", CRMBATCH_EMBEDDED_WORKER="true")
    child = httpx.get(f"{base}/healthz").json()["processes"]["worker"]["pid"]
    server.kill()
    deadline = time.monotonic() + 15
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child)
