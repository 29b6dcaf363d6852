"""Workers on PostgreSQL wake on NOTIFY: a batch accepted anywhere is applied at once, not at the
next look (set here to a minute)."""

from __future__ import annotations

import time

import pytest

from crmbatch.config import Settings
from crmbatch.core.processes import store as process_store
from crmbatch.wakeup import Listener
from crmbatch.worker import Worker
from tests.helpers import submit


def test_an_idle_worker_applies_a_new_batch_when_notified(db, database_url, account):
    if db.is_sqlite:
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; on SQLite the worker shares the API process")
    acct, _ = account
    settings = Settings(database_url=database_url, embedded_worker=False, poll_interval=60)
    worker = Worker(db, settings)
    listener = Listener(database_url, worker.wake)
    threads = [worker.start_thread(), listener.start_thread()]
    try:
        assert listener.listening.wait(10)
        time.sleep(0.5)  # the worker has looked, found nothing, and sleeps for a minute
        started = time.monotonic()
        pid = submit(db, acct.id, [{"ext_id": "car-1", "attributes": {"model": "Golf"}}])
        while time.monotonic() - started < 10:
            with db.read() as conn:
                if process_store.status(conn, pid) == "completed":
                    break
            time.sleep(0.02)
        with db.read() as conn:
            assert process_store.status(conn, pid) == "completed"
        assert time.monotonic() - started < 10
    finally:
        worker.stop()
        listener.stop()
        for t in threads:
            t.join(5)
