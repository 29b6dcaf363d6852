"""The synchronous way in (HubSpot's writes): accept a batch and apply it now, in one
transaction, and read back what the answer shows before that transaction ends.

Writes that arrive while another is being written are written together in the next transaction
(group commit): each is still its own process with its own results, but the batches of one
partition are planned and written as one group, in the order they arrived, so eight clients
sending 100 records each cost about what one sending 800 does. A write that finds earlier
batches of its partition queued or being applied writes nothing and raises
:class:`PartitionBusy`; its caller waits (holding no thread) and tries again.
"""

from __future__ import annotations

import logging
import threading
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Connection

from crmbatch.core import clock
from crmbatch.core.errors import CrmError
from crmbatch.core.processes import runner, store
from crmbatch.core.processes.lifecycle import complete
from crmbatch.core.processes.service import Submission, accept, partition_key
from crmbatch.core.results import Outcome
from crmbatch.core.schema import service as schemas
from crmbatch.core.schema.model import AccountSchema
from crmbatch.core.webhooks import service as webhooks
from crmbatch.db.engine import Database

log = logging.getLogger("crmbatch.processes")

#: at most this many writes are written in one transaction
MAX_GROUP = 64


class PartitionBusy(Exception):
    """Earlier batches of the partition are still queued or being applied: a synchronous write
    would overtake them, so it was not made (nothing was written)."""

    def __init__(self, partition: str) -> None:
        super().__init__(f"partition {partition} has batches waiting")
        self.partition = partition


@dataclass
class Written:
    """A batch written synchronously: its process, outcome, and what ``read_back`` returned."""

    process_id: int
    outcome: Outcome
    schema: AccountSchema
    submission: Submission
    read: Any = None


Build = Callable[[Connection, AccountSchema], Submission]
ReadBack = Callable[[Connection, AccountSchema, Submission, Outcome], Any]


@dataclass(eq=False)
class _Write:
    """One request's write, waiting to be written (alone or with others)."""

    account_id: int
    build: Build
    dialect: str
    read_back: ReadBack | None
    finished: bool = False
    written: Written | None = None
    error: BaseException | None = None
    # set while it is written
    schema: AccountSchema | None = None
    submission: Submission | None = None
    rows: list[Any] = field(default_factory=list)

    def outcome(self) -> Written:
        if self.error is not None:
            raise self.error
        assert self.written is not None
        return self.written


class GroupCommit:
    """The writes of one database: the first to arrive writes everything waiting, the others
    wait for it; then the next in line writes what arrived meanwhile."""

    def __init__(self, db: Database, lease_seconds: float = 30.0) -> None:
        self.db = db
        self.lease_seconds = lease_seconds
        self._cond = threading.Condition()
        self._pending: list[_Write] = []
        self._leading = False

    def write(self, job: _Write) -> Written:
        with self._cond:
            self._pending.append(job)
            while not job.finished:
                if not self._leading:  # nobody writes now: write everything waiting
                    self._leading = True
                    group, self._pending = self._pending[:MAX_GROUP], self._pending[MAX_GROUP:]
                    break
                self._cond.wait()
            else:
                return job.outcome()
        try:
            self._write(group)
        finally:
            with self._cond:
                for j in group:
                    j.finished = True
                self._leading = False
                self._cond.notify_all()
        return job.outcome()

    def _write(self, group: list[_Write]) -> None:
        try:
            with self.db.write() as conn:
                self._apply(conn, group)
        except Exception as exc:
            if len(group) == 1:
                group[0].error = exc
                return
            # one write's fault must not be the others': write each on its own
            log.warning("sync.group_failed", extra={"writes": len(group), "error": repr(exc)})
            for job in group:
                job.error = job.written = None
                self._write([job])

    def _apply(self, conn: Connection, group: list[_Write]) -> None:
        by_partition: dict[str, list[_Write]] = {}
        for job in group:
            try:
                job.schema = schemas.load(conn, job.account_id)
                job.submission = job.build(conn, job.schema)
            except CrmError as e:  # this request's own mistake: it is told, the others go on
                job.error = e
                continue
            partition = partition_key(job.account_id, job.submission.object_type)
            by_partition.setdefault(partition, []).append(job)
        for partition, jobs in by_partition.items():
            store.lock_accepts(conn, partition)
            if store.busy(conn, partition):
                for job in jobs:
                    job.error = PartitionBusy(partition)
                continue
            for kind_run in _runs(jobs):
                self._apply_run(conn, kind_run)

    def _apply_run(self, conn: Connection, jobs: list[_Write]) -> None:
        """Accept each write as its own process; apply them as one group; read each back."""
        ids = []
        for job in jobs:
            assert job.submission is not None
            ids.append(accept(conn, job.account_id, job.submission, dialect=job.dialect).process_id)
        now = clock.now()
        worker_id = f"request:{uuid.uuid4().hex[:16]}"
        lease_until = now + timedelta(seconds=self.lease_seconds)
        store.take(conn, ids, worker_id=worker_id, now=now, lease_until=lease_until)
        rows = [
            {**row, "payload": job.submission.payload if job.submission else {}}
            for row, job in zip(store.rows(conn, ids, payload=False), jobs, strict=True)
        ]
        outcomes = runner.run(conn, runner.Group(rows))
        complete(conn, rows, outcomes, webhooks.RetryPolicy())
        for job, row, outcome in zip(jobs, rows, outcomes, strict=True):
            assert job.schema is not None and job.submission is not None
            read = (
                job.read_back(conn, job.schema, job.submission, outcome) if job.read_back else None
            )
            job.written = Written(row["id"], outcome, job.schema, job.submission, read)


def _runs(jobs: list[_Write]) -> list[list[_Write]]:
    """Consecutive writes that may be applied as one group (same kind, a kind that groups)."""
    runs: list[list[_Write]] = []
    for job in jobs:
        assert job.submission is not None
        kind = job.submission.kind
        last = runs[-1] if runs else None
        if (
            last is not None
            and kind in runner.GROUPABLE
            and last[0].submission is not None
            and last[0].submission.kind == kind
        ):
            last.append(job)
        else:
            runs.append([job])
    return runs


_WRITERS: weakref.WeakKeyDictionary[Database, GroupCommit] = weakref.WeakKeyDictionary()
_WRITERS_LOCK = threading.Lock()


def write_now(
    db: Database,
    account_id: int,
    build: Build,
    *,
    dialect: str,
    read_back: ReadBack | None = None,
) -> Written:
    """Accept a batch and apply it now, in one transaction (shared with the writes that arrived
    meanwhile): ``build`` turns the request into a submission against the schema of that very
    transaction, the engine applies it, resolving every identifier inside the apply, and
    ``read_back`` reads what the answer shows before the transaction ends.

    The partition's order holds: when an earlier batch of it is queued or being applied, nothing
    is written and :class:`PartitionBusy` is raised.
    """
    with _WRITERS_LOCK:
        writer = _WRITERS.get(db)
        if writer is None:
            writer = _WRITERS[db] = GroupCommit(db)
    return writer.write(_Write(account_id, build, dialect, read_back))


def partition_busy(db: Database, partition: str) -> bool:
    with db.read() as conn:
        return store.busy(conn, partition)
