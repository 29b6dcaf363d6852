"""Engines for SQLite (WAL, one writer at a time) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url

from crmbatch.db import codec

#: the page size of a new SQLite file: a 1000-record batch commits half as many WAL frames as
#: with SQLite's default 4096, and rows of a few hundred bytes of JSON fit as well
PAGE_SIZE = 8192
#: WAL pages after which a commit checkpoints by itself (when the Checkpointer is not running)
AUTOCHECKPOINT_PAGES = 16_000
#: the WAL file is truncated back to this size after a checkpoint resets it
WAL_SIZE_LIMIT = 64 * 1024 * 1024


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _sqlite_engine(url: str, pool_size: int) -> Engine:
    return sa.create_engine(
        url,
        json_serializer=codec.dumps_text,
        json_deserializer=codec.loads,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=pool_size,
        max_overflow=20,
    )


def create_engine(url: str, *, pool_size: int = 10) -> Engine:
    """Make an engine for ``url``; SQLite files (and their folder) are created on demand.

    SQLite transactions begin ``IMMEDIATE`` so that a writer takes the lock up front instead of
    failing on upgrade; readers never block thanks to WAL.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            folder = os.path.dirname(os.path.abspath(database))
            os.makedirs(folder, exist_ok=True)
        engine = _sqlite_engine(url, pool_size)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            # a new file only (an existing one keeps its own): half the WAL frames per commit
            cur.execute(f"PRAGMA page_size={PAGE_SIZE}")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            # checkpoints run in the background (Checkpointer); this is only the safety net
            cur.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
            cur.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return sa.create_engine(
        url,
        json_serializer=codec.dumps_text,
        json_deserializer=codec.loads,
        pool_size=pool_size,
        max_overflow=20,
        pool_pre_ping=True,
    )


class WriterLock:
    """One writer at a time; background writers wait while a foreground writer is waiting."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._busy = False
        self._foreground_waiting = 0

    @contextmanager
    def hold(self, *, background: bool) -> Iterator[None]:
        with self._cond:
            if background:
                while self._busy or self._foreground_waiting:
                    self._cond.wait()
            else:
                self._foreground_waiting += 1
                try:
                    while self._busy:
                        self._cond.wait()
                finally:
                    self._foreground_waiting -= 1
            self._busy = True
        try:
            yield
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()


class FileLock:
    """The write lock of one SQLite file across processes (``crmbatch serve`` and the worker it
    starts): ``flock`` on a file beside the database. A waiter wakes the moment the lock frees
    (SQLite's own busy handler sleeps in steps of up to 100 ms instead), and a foreground writer
    goes before background writers that arrive after it: it holds a gate while it waits, and a
    background writer passes the gate before it queues."""

    def __init__(self, path: str) -> None:
        self._write = os.open(f"{path}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
        self._gate = os.open(f"{path}-gate.lock", os.O_RDWR | os.O_CREAT, 0o600)

    @contextmanager
    def hold(self, *, background: bool) -> Iterator[None]:
        fcntl.flock(self._gate, fcntl.LOCK_EX)
        try:
            if not background:
                fcntl.flock(self._write, fcntl.LOCK_EX)
        finally:
            fcntl.flock(self._gate, fcntl.LOCK_UN)
        if background:
            fcntl.flock(self._write, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._write, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self._write)
        os.close(self._gate)


class Database:
    """Two ways in: ``write()`` (serialised on SQLite) and ``read()`` (a snapshot, never blocks).

    The edge (request or worker) opens the transaction; services take the connection and never
    commit.
    """

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.write_engine = create_engine(url, pool_size=pool_size)
        if is_sqlite(self.write_engine):
            self.read_engine = _sqlite_engine(url, pool_size)

            @event.listens_for(self.read_engine, "connect")
            def _on_connect(dbapi_conn: Any, _record: Any) -> None:
                dbapi_conn.isolation_level = None
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA busy_timeout=30000")
                cur.execute("PRAGMA query_only=ON")
                cur.close()

            @event.listens_for(self.read_engine, "begin")
            def _on_begin(conn: Any) -> None:
                conn.exec_driver_sql("BEGIN")

        else:
            self.read_engine = self.write_engine
        self._write_lock = WriterLock() if is_sqlite(self.write_engine) else None
        database = make_url(url).database or ""
        self._file_lock = (
            FileLock(os.path.abspath(database))
            if self._write_lock is not None and database not in ("", ":memory:")
            else None
        )

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.write_engine)

    @contextmanager
    def write(self, *, background: bool = False) -> Iterator[Connection]:
        """A write transaction.

        On SQLite the writers of this process queue on a lock first, then take the file's
        :class:`FileLock` with the writers of other processes: SQLite's own busy handler sleeps
        in steps of up to 100 ms instead of waking when the lock frees, which starves short
        writes behind long ones. ``background`` writers (the worker) also let every waiting
        foreground writer (a client waiting for its 202) go first.
        """
        if self._write_lock is None:
            with self.write_engine.begin() as conn:
                yield conn
            return
        with self._write_lock.hold(background=background):
            if self._file_lock is None:
                with self.write_engine.begin() as conn:
                    yield conn
                return
            with self._file_lock.hold(background=background), self.write_engine.begin() as conn:
                yield conn

    def read(self) -> Any:
        return self.read_engine.begin()

    def checkpoint(self) -> None:
        """Copy the SQLite WAL into the database file without blocking readers or writers."""
        if self.is_sqlite:
            with self.read_engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def dispose(self) -> None:
        if self._file_lock is not None:
            self._file_lock.close()
            self._file_lock = None
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()


class Checkpointer:
    """Checkpoints a SQLite database from its own thread, so that no commit pays for one.

    SQLite otherwise checkpoints inside whichever commit crosses the threshold, fsync included;
    measured on a 1000-record batch that put 30 ms on the median apply and 100 ms spikes on
    the tail.
    """

    def __init__(self, db: Database, interval: float = 1.0) -> None:
        self.db = db
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="crmbatch-checkpointer", daemon=True)

    def start(self) -> Checkpointer:
        if self.db.is_sqlite:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.db.checkpoint()
            except Exception:  # a busy or closing database: try again next time
                continue
