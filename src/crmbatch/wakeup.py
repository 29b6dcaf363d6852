"""Waking workers on PostgreSQL: a process accepted by any API process is announced with
``NOTIFY crmbatch_queued`` in the transaction that stores it (so only once it is committed), and
every worker process LISTENs on one connection of its own. Workers still look on their own every
``poll_interval`` (a lease that ran out is nobody's news), but never need to poll hard.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
import sqlalchemy as sa

from crmbatch.core.processes.store import QUEUED_CHANNEL as CHANNEL

log = logging.getLogger("crmbatch.wakeup")


def conninfo(database_url: str) -> str:
    """A libpq connection string for a SQLAlchemy ``postgresql+psycopg://`` URL."""
    url = sa.engine.make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class Listener:
    """A thread that calls ``on_notify`` whenever a process is queued, reconnecting when the
    database goes away (and calling ``on_notify`` then too: what was missed is looked at)."""

    def __init__(self, database_url: str, on_notify: Callable[[], None]) -> None:
        self.conninfo = conninfo(database_url)
        self.on_notify = on_notify
        self.stop_event = threading.Event()
        self.listening = threading.Event()

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> None:
        backoff = 0.5
        while not self.stop_event.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    backoff = 0.5
                    self.on_notify()
                    while not self.stop_event.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self.on_notify()
            except psycopg.Error as e:
                self.listening.clear()
                log.warning("wakeup.reconnect", extra={"error": str(e)[:200], "in": backoff})
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, 10.0)

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="crmbatch-listener", daemon=True)
        thread.start()
        return thread
