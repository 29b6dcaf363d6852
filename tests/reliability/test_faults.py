"""Faults in a real deployment: the API server killed between accept and apply, a worker told to
stop mid-batch, its database connection cut mid-apply, two workers racing on one partition. After
each, every accepted batch is applied exactly once (records, history rows and per-record results
counted) and in order. Real processes, on both backends."""

from __future__ import annotations

import signal
import time

import httpx
import pytest
import sqlalchemy as sa

from crmbatch.core.processes import service as processes
from crmbatch.db.tables import processes as processes_table
from crmbatch.db.tables import record_history, records
from tests.conftest import VEHICLE_SCHEMA, make_account
from tests.helpers import submit
from tests.processes import Proc, serve, wait_status


def _count(db, table, **where):
    with db.read() as conn:
        q = sa.select(sa.func.count()).select_from(table)
        for column, value in where.items():
            q = q.where(table.c[column] == value)
        return conn.execute(q).scalar_one()


def _full(db, account_id, pid):
    with db.read() as conn:
        return processes.full(conn, account_id, pid)


def _batch(n: int, size: int = 100) -> list[dict]:
    return [
        {"ext_id": f"b{n}-{i}", "attributes": {"model": f"m{n}", "year": i}} for i in range(size)
    ]


def test_batches_accepted_by_a_server_killed_before_applying_are_applied_once(
    db, database_url, tmp_path
):
    account, key = make_account(db, schema=VEHICLE_SCHEMA)
    no_worker = {"CRMBATCH_EMBEDDED_WORKER": "false"}
    server, base = serve(database_url, tmp_path / "serve.log", **no_worker)
    accepted = []
    try:
        with httpx.Client(base_url=base, headers={"api-key": key}, timeout=30) as c:
            for n in range(5):
                body = {
                    "records": [
                        {"identifiers": {"ext_id": f"car-{n}-{i}"}, "attributes": {"model": "x"}}
                        for i in range(200)
                    ]
                }
                r = c.post("/v3/objects/vehicle/batch/upsert", json=body)
                assert r.status_code == 202
                accepted.append(r.json()["processId"])
    finally:
        server.kill()  # SIGKILL: no shutdown of any kind
    assert _count(db, records) == 0

    worker = Proc(database_url, "worker", log=tmp_path / "worker.log")
    server, base = serve(database_url, tmp_path / "serve2.log", **no_worker)
    try:
        with httpx.Client(base_url=base, headers={"api-key": key}, timeout=30) as c:
            for pid in accepted:  # each client that got a 202 finds its process completed
                wait_status(
                    lambda pid=pid: c.get(f"/v3/processes/{pid}").json()["status"], ("completed",)
                )
    finally:
        worker.stop()
        server.stop()
    for pid in accepted:
        full = _full(db, account.id, pid)
        assert full["counts"]["created"] == 200 and len(full["results"]) == 200
        assert full["attempts"] == 1
    assert _count(db, records) == 1000 and _count(db, record_history) == 1000


def test_a_worker_told_to_stop_finishes_its_batch_first(db, database_url, tmp_path):
    account, _ = make_account(db, schema=VEHICLE_SCHEMA)
    pid = submit(db, account.id, _batch(0, 500))
    worker = Proc(
        database_url, "worker", log=tmp_path / "worker.log", CRMBATCH_DEBUG_APPLY_DELAY="2"
    )
    try:
        wait_status(lambda: _full(db, account.id, pid)["status"], ("in_process",))
        worker.popen.send_signal(signal.SIGTERM)
        assert worker.popen.wait(30) == 0
    finally:
        worker.stop()
    full = _full(db, account.id, pid)
    assert full["status"] == "completed" and full["attempts"] == 1
    assert _count(db, records) == 500 and _count(db, record_history) == 500


def test_a_connection_cut_mid_apply_loses_nothing_and_applies_once(db, database_url, tmp_path):
    if db.is_sqlite:
        pytest.skip("an embedded SQLite file has no connection to cut")
    account, _ = make_account(db, schema=VEHICLE_SCHEMA)
    pid = submit(db, account.id, _batch(0, 1000))
    worker = Proc(
        database_url, "worker", log=tmp_path / "worker.log", CRMBATCH_DEBUG_APPLY_DELAY="2"
    )
    try:
        wait_status(lambda: _full(db, account.id, pid)["status"], ("in_process",))
        time.sleep(0.5)  # inside the apply transaction: written, not committed
        with db.write() as conn:
            cut = conn.exec_driver_sql(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND state = 'idle in transaction'"
            ).scalar_one()
        assert cut == 1
        wait_status(lambda: _full(db, account.id, pid)["status"], ("completed",))
        assert worker.popen.poll() is None, "the worker survives the lost connection"
    finally:
        worker.stop()
    full = _full(db, account.id, pid)
    assert full["attempts"] == 2 and full["counts"]["created"] == 1000
    assert len(full["results"]) == 1000
    assert _count(db, records) == 1000 and _count(db, record_history) == 1000


def test_two_workers_racing_on_one_partition_keep_its_order(db, database_url, tmp_path):
    account, _ = make_account(db, schema=VEHICLE_SCHEMA)
    fast = {"CRMBATCH_POLL_INTERVAL": "0.001", "CRMBATCH_DEBUG_APPLY_DELAY": "0.02"}
    workers = [Proc(database_url, "worker", log=tmp_path / f"w{n}.log", **fast) for n in (1, 2)]
    pids: list[int] = []

    def takers() -> set[str]:
        with db.read() as conn:
            return set(
                conn.execute(
                    sa.select(processes_table.c.worker_id).where(processes_table.c.id.in_(pids))
                ).scalars()
            )

    try:
        # both started (a slow start under load would leave every batch to the other one)
        wait_status(lambda: all("worker.started" in w.output() for w in workers), (True,))
        # bursts of three batches: both idle workers race for each burst's first batch, and
        # whoever is free races for the ones queued behind it; at least ten bursts, and more
        # (up to forty) until both have taken some
        n = 0
        while n < 30 or (not db.is_sqlite and len(takers()) < 2 and n < 120):
            # every batch also sets car-0's model to its own number
            batch = [{"ext_id": "car-0", "attributes": {"model": f"v{n}"}}, *_batch(n, 20)]
            pids.append(submit(db, account.id, batch))
            if n % 3 == 2:
                wait_status(lambda: _full(db, account.id, pids[-1])["status"], ("completed",))
            n += 1
        wait_status(lambda: _full(db, account.id, pids[-1])["status"], ("completed",))
    finally:
        for w in workers:
            w.stop()
    with db.read() as conn:
        rows = conn.execute(
            sa.select(
                processes_table.c.id,
                processes_table.c.worker_id,
                processes_table.c.started_at,
                processes_table.c.completed_at,
            )
            .where(processes_table.c.id.in_(pids))
            .order_by(processes_table.c.id)
        ).all()
        car = conn.execute(
            sa.select(records.c.id, records.c.attributes).where(records.c.ext_id == "car-0")
        ).one()
        made_by = (
            conn.execute(
                sa.select(record_history.c.process_id)
                .where(record_history.c.record_id == car.id)
                .order_by(record_history.c.id)
            )
            .scalars()
            .all()
        )
    assert all(r.completed_at is not None for r in rows)
    if not db.is_sqlite:  # on SQLite one worker may keep losing the race for the write lock
        assert len({r.worker_id for r in rows}) == 2, "both workers took batches"
    # car-0 changed by every batch, in acceptance order: the partition was never reordered
    # (timestamps cannot show it: a claim's clock is read before its statement sees the commit)
    assert made_by == pids
    assert car.attributes["model"] == f"v{len(pids) - 1}"
    assert _count(db, records) == 1 + len(pids) * 20
