"""A worker killed (SIGKILL) in the middle of applying a batch: after its lease runs out another
worker applies the batch exactly once. Real processes, on both backends."""

from __future__ import annotations

import sqlalchemy as sa

from crmbatch.config import Settings
from crmbatch.core.processes import service as processes
from crmbatch.db.tables import record_history, records
from crmbatch.worker import drain
from tests.conftest import VEHICLE_SCHEMA, make_account
from tests.helpers import submit
from tests.processes import Proc, wait_status


def _count(db, table):
    with db.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_a_worker_killed_mid_batch_loses_nothing_and_applies_once(db, database_url, tmp_path):
    account, _ = make_account(db, schema=VEHICLE_SCHEMA)
    commands = [
        {"ext_id": f"k{i}", "attributes": {"model": f"m{i}", "year": i}} for i in range(1000)
    ]
    pid = submit(db, account.id, commands)

    def status():
        with db.read() as conn:
            return processes.get(conn, account.id, pid)["status"]

    # this worker stops inside its apply transaction, after writing, before committing
    doomed = Proc(
        database_url,
        "worker",
        log=tmp_path / "doomed.log",
        CRMBATCH_DEBUG_APPLY_DELAY="120",
        CRMBATCH_LEASE_SECONDS="1",
    )
    try:
        wait_status(status, ("in_process",))
        import time

        time.sleep(1.0)  # well inside the 120 s pause: the batch is written but not committed
        doomed.kill()
    finally:
        doomed.stop()
    assert status() == "in_process"
    assert _count(db, records) == 0 and _count(db, record_history) == 0

    time.sleep(1.2)  # the dead worker's lease runs out
    assert drain(db, Settings(database_url=database_url, lease_seconds=30)) == 1
    with db.read() as conn:
        full = processes.full(conn, account.id, pid)
    assert full["status"] == "completed" and full["attempts"] == 2
    assert full["counts"]["created"] == 1000 and len(full["results"]) == 1000
    assert _count(db, records) == 1000 and _count(db, record_history) == 1000
    # nothing left to do, nothing applied twice
    assert drain(db, Settings(database_url=database_url)) == 0
    assert _count(db, records) == 1000
