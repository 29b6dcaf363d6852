"""SQL for processes: insert, claim (ordered per partition), complete, read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError

from crmbatch.db import bulk
from crmbatch.db.bulk import param
from crmbatch.db.tables import process_payloads, process_results, processes

UNFINISHED = ("queued", "in_process")

#: the NOTIFY channel workers LISTEN on (crmbatch.wakeup)
QUEUED_CHANNEL = "crmbatch_queued"


def insert(conn: Connection, **values: Any) -> int:
    """A new process row (columns by name; ``payload`` a document, ``requested_at`` a
    datetime); its id. One plain statement: every accepted batch writes one."""
    row = {**values, "requested_at": bulk.at(conn, values["requested_at"])}
    payload = row.pop("payload")
    names = list(row)
    sql = (
        f"INSERT INTO processes ({', '.join(names)})"
        f" VALUES ({', '.join(param(conn, n) for n in names)}) RETURNING id"
    )
    try:
        process_id = int(bulk.rows(conn, sql, row)[0][0])
    except conn.dialect.loaded_dbapi.IntegrityError as e:  # an Idempotency-Key taken meanwhile
        raise IntegrityError(sql, row, e) from e
    bulk.execute(
        conn,
        "INSERT INTO process_payloads (process_id, payload)"
        f" VALUES ({param(conn, 'id')}, {param(conn, 'payload')})",
        {"id": process_id, "payload": bulk.to_json(payload)},
    )
    if conn.dialect.name == "postgresql":  # delivered at commit, to every listening worker
        bulk.execute(conn, f"SELECT pg_notify('{QUEUED_CHANNEL}', '')", {})
    return process_id


def lock_accepts(conn: Connection, partition: str) -> None:
    """Serialise the accepting transactions of one partition until they commit (PostgreSQL; on
    SQLite every writer is serialised already): ids are then handed out in commit order."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(f"accept:{partition}")))
        )


def busy(conn: Connection, partition: str) -> bool:
    """Does the partition hold a process that is queued or being applied?"""
    p = processes
    query = sa.select(p.c.id).where(p.c.status.in_(UNFINISHED), p.c.partition_key == partition)
    return conn.execute(query.limit(1)).first() is not None


def applied_through(conn: Connection, partition: str) -> int | None:
    """The last process of the partition that has been applied (or has failed for good)."""
    p = processes
    return conn.execute(
        sa.select(sa.func.max(p.c.id)).where(
            p.c.status.in_(("completed", "failed")), p.c.partition_key == partition
        )
    ).scalar()


def find_by_idempotency_key(conn: Connection, account_id: int, key: str) -> RowMapping | None:
    return (
        conn.execute(
            sa.select(processes).where(
                processes.c.account_id == account_id, processes.c.idempotency_key == key
            )
        )
        .mappings()
        .first()
    )


def forget_idempotency_key(conn: Connection, process_id: int) -> None:
    conn.execute(
        processes.update().where(processes.c.id == process_id).values(idempotency_key=None)
    )


def next_claimable(conn: Connection, *, now: datetime, skip_locked: bool) -> int | None:
    """The oldest process whose partition has nothing older unfinished (a process whose lease
    ran out counts: its worker died). With ``skip_locked`` (PostgreSQL) concurrent workers pass
    over each other's rows instead of waiting. One plain statement: it runs for every batch."""
    sql = _CLAIMABLE.format(now=param(conn, "now"))
    if skip_locked:
        sql += " FOR UPDATE OF p SKIP LOCKED"
    found = bulk.rows(conn, sql, {"now": bulk.at(conn, now)})
    return int(found[0][0]) if found else None


_CLAIMABLE = (
    "SELECT p.id FROM processes AS p"
    " WHERE (p.status = 'queued' OR p.status = 'in_process' AND p.lease_until < {now})"
    " AND NOT EXISTS (SELECT earlier.id FROM processes AS earlier"
    " WHERE earlier.partition_key = p.partition_key AND earlier.id < p.id"
    " AND earlier.status IN ('queued', 'in_process'))"
    " ORDER BY p.id LIMIT 1"
)


def take(
    conn: Connection, ids: list[int], *, worker_id: str, now: datetime, lease_until: datetime
) -> None:
    """Lease processes to ``worker_id``: in process, one more attempt (started at ``now``, or
    at the request's own time when that is later: a worker's clock is read before its claim
    sees the newly committed process, so it can be a little earlier on PostgreSQL)."""
    now_p, lease_p, worker_p = (param(conn, n) for n in ("now", "lease", "worker"))
    pg = bulk.is_pg(conn)
    target = "id = ANY(%(ids)s)" if pg else "id IN (SELECT value FROM json_each(:ids))"
    bulk.execute(
        conn,
        f"UPDATE processes SET status = 'in_process', worker_id = {worker_p},"
        f" lease_until = {lease_p}, attempts = attempts + 1,"
        f" started_at = coalesce(started_at,"
        f" CASE WHEN requested_at > {now_p} THEN requested_at ELSE {now_p} END)"
        f" WHERE {target}",
        {
            "ids": list(ids) if pg else bulk.to_json(list(ids)),
            "now": bulk.at(conn, now),
            "lease": bulk.at(conn, lease_until),
            "worker": worker_id,
        },
    )


def rows(conn: Connection, ids: list[int], *, payload: bool = True) -> list[RowMapping]:
    """Processes by id, in id order (with their payloads from ``process_payloads``, or
    without)."""
    query = sa.select(processes).where(processes.c.id.in_(ids)).order_by(processes.c.id)
    if payload:
        query = query.add_columns(process_payloads.c.payload).join(
            process_payloads, process_payloads.c.process_id == processes.c.id
        )
    return list(conn.execute(query).mappings().all())


def claim_next(
    conn: Connection,
    *,
    worker_id: str,
    now: datetime,
    lease_until: datetime,
    skip_locked: bool,
    payload: bool = True,
) -> RowMapping | None:
    """Take the next claimable process (see :func:`next_claimable`) and lease it (its row, with
    its payload or without)."""
    process_id = next_claimable(conn, now=now, skip_locked=skip_locked)
    if process_id is None:
        return None
    take(conn, [process_id], worker_id=worker_id, now=now, lease_until=lease_until)
    return rows(conn, [process_id], payload=payload)[0]


def follower_ids(
    conn: Connection,
    head: Any,
    *,
    max_items: int,
    max_processes: int = 50,
    lock: bool = False,
) -> list[int]:
    """The queued processes right behind ``head`` in its partition, of its kind, up to
    ``max_items`` items in all: they may be applied with it, in order.

    Only an unbroken run is taken: the first process of another kind, one already claimed, or
    one that would pass the limit ends it. With ``lock`` (PostgreSQL) the rows are locked
    without skipping, so a gap can never reorder the partition.
    """
    p = processes
    query = (
        sa.select(p.c.id, p.c.kind, p.c.status, p.c.received)
        .where(
            p.c.partition_key == head["partition_key"],
            p.c.id > head["id"],
            p.c.status.in_(UNFINISHED),
        )
        .order_by(p.c.id)
        .limit(max_processes)
    )
    if lock:
        query = query.with_for_update(of=p)
    taken: list[int] = []
    total = int(head["received"])
    for row in conn.execute(query):
        if row.status != "queued" or row.kind != head["kind"]:
            break
        if total + row.received > max_items:
            break
        taken.append(row.id)
        total += row.received
    return taken


def claim_followers(
    conn: Connection,
    head: RowMapping,
    *,
    worker_id: str,
    now: datetime,
    lease_until: datetime,
    max_items: int,
    payload: bool = True,
) -> list[RowMapping]:
    """Lease the queued processes right behind ``head`` (see :func:`follower_ids`)."""
    lock = conn.dialect.name == "postgresql"
    taken = follower_ids(conn, head, max_items=max_items, lock=lock)
    if not taken:
        return []
    take(conn, taken, worker_id=worker_id, now=now, lease_until=lease_until)
    return rows(conn, taken, payload=payload)


def lock(conn: Connection, process_id: int, *, for_update: bool) -> tuple[str, str | None] | None:
    """(status, worker id) of a process, its row locked with ``for_update`` (PostgreSQL)."""
    sql = f"SELECT status, worker_id FROM processes WHERE id = {param(conn, 'id')}"
    found = bulk.rows(conn, sql + (" FOR UPDATE" if for_update else ""), {"id": process_id})
    return (found[0][0], found[0][1]) if found else None


def complete(
    conn: Connection,
    process_id: int,
    *,
    status: str,
    counts: dict[str, int],
    results: Sequence[Any],
    at: datetime,
    error: str | None = None,
    results_text: str | None = None,
    unapplied: int | None = None,
    warned: int | None = None,
) -> None:
    """Mark a process done with its counts and results (``results_text``: already as JSON) and
    how many items carry warnings."""
    names = ("id", "status", "counts", "at", "error", "unapplied", "warned", "results")
    id_, status_, counts_, at_, error_, unapplied_, warned_, results_ = (
        param(conn, n) for n in names
    )
    cast = "::jsonb" if bulk.is_pg(conn) else ""
    bulk.execute(
        conn,
        f"UPDATE processes SET status = {status_}, counts = {counts_}{cast},"
        f" completed_at = {at_}, lease_until = NULL, error = {error_},"
        f" unapplied = {unapplied_}, warned = {warned_} WHERE id = {id_}",
        {
            "id": process_id,
            "status": status,
            "counts": bulk.to_json(counts),
            "at": bulk.at(conn, at),
            "error": error,
            "unapplied": unapplied,
            "warned": warned,
        },
    )
    text = bulk.to_json(results) if results_text is None else results_text
    bulk.execute(
        conn,
        f"INSERT INTO process_results (process_id, results) VALUES ({id_}, {results_})",
        {"id": process_id, "results": text},
    )


def set_parent(conn: Connection, ids: list[int], parent_id: int) -> None:
    conn.execute(processes.update().where(processes.c.id.in_(ids)).values(parent_id=parent_id))


def parts(conn: Connection, parent_id: int) -> list[RowMapping]:
    """The parts of a process, in order (their summaries)."""
    query = sa.select(processes).where(processes.c.parent_id == parent_id).order_by(processes.c.id)
    return list(conn.execute(query).mappings())


def parts_progress(conn: Connection, parent_id: int) -> tuple[int, int, int]:
    """(how many parts a process has, how many have started, how many are done)."""
    started = sa.case((processes.c.status != "queued", 1), else_=0)
    done = sa.case((processes.c.status.in_(("completed", "failed")), 1), else_=0)
    n, began, finished = conn.execute(
        sa.select(sa.func.count(), sa.func.sum(started), sa.func.sum(done)).where(
            processes.c.parent_id == parent_id
        )
    ).one()
    return int(n), int(began or 0), int(finished or 0)


def release(conn: Connection, process_id: int, worker_id: str, *, error: str | None) -> None:
    """Give a claimed process back to the queue (shutdown, or a failed attempt)."""
    conn.execute(
        processes.update()
        .where(processes.c.id == process_id, processes.c.worker_id == worker_id)
        .where(processes.c.status == "in_process")
        .values(status="queued", worker_id=None, lease_until=None, error=error)
    )


def unclaim(conn: Connection, ids: list[int], worker_id: str) -> None:
    """Give back processes a worker leased but never began to apply (it is stopping): queued
    again as if never claimed, the attempt not counted."""
    p = processes
    conn.execute(
        p.update()
        .where(p.c.id.in_(ids), p.c.worker_id == worker_id, p.c.status == "in_process")
        .values(
            status="queued",
            worker_id=None,
            lease_until=None,
            attempts=p.c.attempts - 1,
            started_at=sa.case((p.c.attempts <= 1, None), else_=p.c.started_at),
        )
    )


def release_workers(conn: Connection, prefix: str) -> int:
    """Queue again the processes held by workers whose id begins with ``prefix`` (a process
    that died: nothing it held can still be committed). The attempts stay counted."""
    p = processes
    result = conn.execute(
        p.update()
        .where(
            p.c.status == "in_process",
            sa.func.substr(p.c.worker_id, 1, len(prefix)) == prefix,
        )
        .values(status="queued", worker_id=None, lease_until=None)
    )
    return int(result.rowcount or 0)


def get(conn: Connection, account_id: int, process_id: int) -> RowMapping | None:
    return (
        conn.execute(
            sa.select(processes).where(
                processes.c.account_id == account_id, processes.c.id == process_id
            )
        )
        .mappings()
        .first()
    )


def results(conn: Connection, process_id: int) -> list[dict[str, Any]]:
    value = conn.execute(
        sa.select(process_results.c.results).where(process_results.c.process_id == process_id)
    ).scalar()
    return list(value or [])


def results_texts(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    """process id → its results as the JSON text they were stored as."""
    rows = conn.execute(
        sa.select(process_results.c.process_id, sa.cast(process_results.c.results, sa.Text)).where(
            process_results.c.process_id.in_(list(ids))
        )
    )
    return {int(pid): str(text) for pid, text in rows}


def results_text(conn: Connection, process_id: int) -> str:
    """A process's results as the JSON text they were stored as (``[]`` when there are none):
    served as they are, without building a Python object per result."""
    value = conn.execute(
        sa.select(sa.cast(process_results.c.results, sa.Text)).where(
            process_results.c.process_id == process_id
        )
    ).scalar()
    return str(value) if value else "[]"


def list_for_account(
    conn: Connection, account_id: int, *, limit: int, offset: int, descending: bool
) -> tuple[int, list[RowMapping]]:
    # the parts of a larger process are shown through it
    mine = sa.and_(processes.c.account_id == account_id, processes.c.parent_id.is_(None))
    total = conn.execute(sa.select(sa.func.count()).select_from(processes).where(mine)).scalar_one()
    order = processes.c.id.desc() if descending else processes.c.id.asc()
    rows = (
        conn.execute(sa.select(processes).where(mine).order_by(order).limit(limit).offset(offset))
        .mappings()
        .all()
    )
    return int(total), list(rows)


def queue_depth(conn: Connection) -> dict[str, int]:
    rows = conn.execute(
        sa.select(processes.c.status, sa.func.count())
        .where(processes.c.status.in_(UNFINISHED))
        .group_by(processes.c.status)
    )
    return {status: int(n) for status, n in rows}


def ping(conn: Connection) -> None:
    conn.execute(sa.select(1))


def status(conn: Connection, process_id: int) -> str | None:
    value = conn.execute(sa.select(processes.c.status).where(processes.c.id == process_id)).scalar()
    return None if value is None else str(value)


def payload(conn: Connection, process_id: int) -> dict[str, Any]:
    value = conn.execute(
        sa.select(process_payloads.c.payload).where(process_payloads.c.process_id == process_id)
    ).scalar()
    return dict(value or {})


def filtered(
    conn: Connection,
    account_id: int,
    *,
    where: dict[str, str],
    before_id: int | None,
    limit: int,
    failures: bool = False,
    warned: bool = False,
) -> list[RowMapping]:
    """The account's processes (not their parts), newest first, below ``before_id``, with the
    column values ``where`` names (status, kind, dialect, object_type), only those that failed
    or did not apply some items when ``failures``, only those with warnings when ``warned``:
    the account's index leads, so a page costs its rows."""
    conditions: list[Any] = [processes.c.account_id == account_id, processes.c.parent_id.is_(None)]
    conditions += [processes.c[name] == value for name, value in where.items()]
    # the conditions as the partial indexes state them, so that both planners use them
    if failures:
        conditions.append(sa.text("(processes.unapplied > 0 OR processes.status = 'failed')"))
    if warned:
        conditions.append(sa.text("processes.warned > 0"))
    if before_id is not None:
        conditions.append(processes.c.id < before_id)
    query = sa.select(processes).where(*conditions).order_by(processes.c.id.desc()).limit(limit)
    return list(conn.execute(query).mappings())


def completed_since(conn: Connection, account_id: int, since: datetime) -> list[RowMapping]:
    """When each of the account's processes completed since ``since``, how many items it
    received and how many it did not apply (plain columns: no JSON to read per process)."""
    query = sa.select(processes.c.completed_at, processes.c.received, processes.c.unapplied).where(
        processes.c.account_id == account_id,
        processes.c.parent_id.is_(None),
        processes.c.status == "completed",
        processes.c.completed_at >= since,
    )
    return list(conn.execute(query).mappings())


def depth_of(conn: Connection, account_id: int) -> dict[str, int]:
    """The account's processes waiting and running."""
    rows = conn.execute(
        sa.select(processes.c.status, sa.func.count())
        .where(
            processes.c.account_id == account_id,
            processes.c.status.in_(("queued", "in_process")),
        )
        .group_by(processes.c.status)
    )
    return {str(status): int(n) for status, n in rows}
