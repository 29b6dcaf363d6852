"""Accept a batch as a process (one write, idempotent) and read processes back."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError

from crmbatch.core import clock
from crmbatch.core.errors import Conflict, CrmError, NotFound
from crmbatch.core.processes import store
from crmbatch.core.results import UNAPPLIED, new_counts
from crmbatch.db import codec

IDEMPOTENCY_WINDOW = timedelta(hours=24)

#: what a batch writes with it as it is accepted (the list an import makes); given the
#: submissions (one, or an import's parts), it returns them as they are to be stored
BeforeInsert = Callable[[Connection, list["Submission"]], list["Submission"]]


@dataclass(frozen=True)
class Submission:
    """A batch checked and turned into core commands: what a process stores, or what a dry run
    plans without storing."""

    kind: str
    #: the object type whose partition the batch belongs to
    object_type: str | None
    payload: dict[str, Any]
    received: int


@dataclass(frozen=True)
class Accepted:
    process_id: int
    #: True when an earlier request with the same Idempotency-Key already created it
    replayed: bool


def request_hash(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\x00")
    return h.hexdigest()


def partition_key(account_id: int, object_type: str | None) -> str:
    return f"{account_id}:{object_type or '*'}"


def _replay(conn: Connection, account_id: int, key: str, digest: str) -> Accepted | None:
    existing = store.find_by_idempotency_key(conn, account_id, key)
    if existing is None:
        return None
    if existing["requested_at"] < clock.now() - IDEMPOTENCY_WINDOW:
        store.forget_idempotency_key(conn, existing["id"])
        return None
    if existing["request_hash"] != digest:
        raise Conflict(
            f"Idempotency-Key {key!r} was already used with a different request body",
            field="Idempotency-Key",
        )
    return Accepted(existing["id"], replayed=True)


#: the longest Idempotency-Key kept (the same on every backend)
MAX_IDEMPOTENCY_KEY = 255


def check_idempotency_key(key: str | None) -> None:
    """1 to 255 printable characters, or none at all."""
    if key is None:
        return
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise CrmError(
            f"Idempotency-Key: 1 to {MAX_IDEMPOTENCY_KEY} printable characters "
            f"(got {len(key)} characters)",
            field="Idempotency-Key",
        )


def _open(
    conn: Connection,
    account_id: int,
    submission: Submission,
    idempotency_key: str | None,
    digest: str | None,
) -> tuple[str, Accepted | None]:
    """The first steps of every accept: the key checked, the partition's accepts locked, and
    the earlier process when the request replays an Idempotency-Key."""
    check_idempotency_key(idempotency_key)
    partition = partition_key(account_id, submission.object_type)
    store.lock_accepts(conn, partition)
    if idempotency_key:
        return partition, _replay(conn, account_id, idempotency_key, digest or "")
    return partition, None


def accept(
    conn: Connection,
    account_id: int,
    submission: Submission,
    *,
    dialect: str,
    idempotency_key: str | None = None,
    digest: str | None = None,
    notify_url: str | None = None,
    before_insert: BeforeInsert | None = None,
) -> Accepted:
    """Store a process and its payload in one write. The caller commits.

    ``before_insert`` does what the batch needs written with it (a list an import makes), and
    only when the batch is new: never for a request that replays an Idempotency-Key.

    The accepting transactions of one partition are serialised (a lock held until commit), so
    that process ids within a partition follow the order in which they were committed: a worker
    that sees a process never finds an earlier one of its partition still to appear.
    """
    partition, replay = _open(conn, account_id, submission, idempotency_key, digest)
    if replay is not None:
        return replay
    if before_insert is not None:
        (submission,) = before_insert(conn, [submission])
    values = _row(account_id, submission, dialect, partition)
    values.update(
        idempotency_key=idempotency_key or None, request_hash=digest, notify_url=notify_url
    )
    return _insert_once(
        conn, account_id, idempotency_key, digest, lambda: store.insert(conn, **values)
    )


def accept_parts(
    conn: Connection,
    account_id: int,
    parts: list[Submission],
    final: Submission,
    *,
    dialect: str,
    idempotency_key: str | None = None,
    digest: str | None = None,
    notify_url: str | None = None,
    before_insert: BeforeInsert | None = None,
) -> Accepted:
    """Store a batch too large for one transaction (an import) as its parts and a final
    process, in one write. The caller commits.

    Each part is a process of its own, applied in its own transaction, in order; the final one
    comes last in the partition, so it is applied once every part is, and joins their results
    and counts (its kind's handler does). The final process is the one the caller shows: its id,
    its Idempotency-Key, its webhook.
    """
    partition, replay = _open(conn, account_id, final, idempotency_key, digest)
    if replay is not None:
        return replay
    if before_insert is not None:
        parts = before_insert(conn, parts)

    def write() -> int:
        ids = [store.insert(conn, **_row(account_id, part, dialect, partition)) for part in parts]
        values = _row(account_id, final, dialect, partition)
        values.update(
            idempotency_key=idempotency_key or None, request_hash=digest, notify_url=notify_url
        )
        values["payload"] = {**final.payload, "parts": ids}
        process_id = store.insert(conn, **values)
        store.set_parent(conn, ids, process_id)
        return process_id

    return _insert_once(conn, account_id, idempotency_key, digest, write)


def _insert_once(
    conn: Connection,
    account_id: int,
    idempotency_key: str | None,
    digest: str | None,
    write: Callable[[], int],
) -> Accepted:
    """``write()`` the process (its id); with an Idempotency-Key, inside a savepoint, so that
    when a concurrent request with the same key won the race the answer is the one it got."""
    if not idempotency_key:
        return Accepted(write(), replayed=False)
    nested = conn.begin_nested()
    try:
        process_id = write()
        nested.commit()
    except IntegrityError:
        nested.rollback()
        replay = _replay(conn, account_id, idempotency_key, digest or "")
        if replay is None:
            raise
        return replay
    return Accepted(process_id, replayed=False)


def _row(account_id: int, submission: Submission, dialect: str, partition: str) -> dict[str, Any]:
    return dict(
        account_id=account_id,
        kind=submission.kind,
        dialect=dialect,
        object_type=submission.object_type,
        partition_key=partition,
        status="queued",
        payload=submission.payload,
        received=submission.received,
        requested_at=clock.now(),
        attempts=0,
    )


def get(conn: Connection, account_id: int, process_id: int) -> Any:
    """A process's summary; one applied in parts says how far they are (``parts``), and is
    ``in_process`` from the moment its first part is."""
    row = store.get(conn, account_id, process_id)
    if row is None:
        raise NotFound(f"Process ID {process_id} not found", field="processId")
    total, started, done = store.parts_progress(conn, process_id)
    if not total:
        return row
    shown = dict(row)
    shown["parts"] = {"total": total, "started": started, "done": done}
    if row["status"] == "queued" and started:
        shown["status"] = "in_process"
    return shown


def full(
    conn: Connection, account_id: int, process_id: int, *, results: str = "all"
) -> dict[str, Any]:
    """A process in full (native.md): kind, status, counts, timestamps, per-record results.

    ``results`` narrows the results: ``failed`` keeps the records that failed or were skipped
    (what a client needs to report, a fraction of the bytes), ``none`` shows none.
    """
    row = get(conn, account_id, process_id)
    shown: list[dict[str, Any]] = []
    if row["status"] == "completed" and results != "none":
        shown = store.results(conn, row["id"])
        if results == "failed":
            shown = [r for r in shown if r.get("status") in UNAPPLIED]
    return view(row, shown)


def full_json(conn: Connection, account_id: int, process_id: int, **extra: Any) -> bytes:
    """:func:`full` with every result, as JSON bytes (and ``extra`` keys after the results):
    the stored results are spliced in as they are, so serving a large process costs its bytes,
    not a Python object per result and warning."""
    row = get(conn, account_id, process_id)
    head = view(row, [])
    del head["results"]
    results = store.results_text(conn, process_id) if row["status"] == "completed" else "[]"
    tail = b"".join(b"," + codec.dumps(k) + b":" + codec.dumps(v) for k, v in extra.items())
    return codec.dumps(head)[:-1] + b',"results":' + results.encode() + tail + b"}"


def view(row: Any, results: Sequence[Any]) -> dict[str, Any]:
    """A process row and its results as :func:`full` shows them."""
    counts = new_counts(row["received"])
    counts.update(row["counts"] or {})
    return {
        "id": row["id"],
        "kind": row["kind"],
        "dialect": row["dialect"],
        "object_type": row["object_type"],
        "status": row["status"],
        "requested_at": clock.iso(row["requested_at"]),
        "started_at": clock.iso(row["started_at"]),
        "completed_at": clock.iso(row["completed_at"]),
        "attempts": row["attempts"],
        "error": row["error"],
        "counts": counts,
        **({"parts": row["parts"]} if row.get("parts") else {}),
        "results": results,
    }


def page(
    conn: Connection, account_id: int, *, limit: int, offset: int, descending: bool
) -> tuple[int, list[RowMapping]]:
    return store.list_for_account(
        conn, account_id, limit=limit, offset=offset, descending=descending
    )
