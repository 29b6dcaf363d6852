"""Write a planned batch (see :mod:`crmbatch.core.records.plan`): one statement per table,
whatever the batch's size, inside the caller's transaction.

New records get their real ids here; every result that named a provisional id is given the real
one before anyone sees it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from crmbatch.core import clock
from crmbatch.core.records import store
from crmbatch.core.records.plan import Batch, Origin, Plan, Rec, _this_batch, plan_upsert
from crmbatch.core.results import Outcome
from crmbatch.core.schema.model import AccountSchema, ObjectType
from crmbatch.db import codec

#: the process of the whole batch, or of each command (a group of processes applied together)
ProcessIds = int | list[int] | None


def _process_of(process_id: ProcessIds) -> Callable[[int], int | None]:
    if isinstance(process_id, list):
        return process_id.__getitem__
    return lambda index: process_id


def _assign_ids(conn: Connection, touched: list[Rec], outcome: Outcome) -> dict[int, int]:
    """Reserve ids for the new records; provisional id → real id, results updated."""
    new = [r for r in touched if r.is_new]
    real = store.reserve_ids(conn, len(new))
    remap = {rec.id: rid for rec, rid in zip(new, real, strict=True)}
    for rec in new:
        rec.id = remap[rec.id]
    for res in outcome.results:
        if res.id is not None and res.id < 0:
            res.id = remap[res.id]
    return remap


def _write_records(batch: Batch, touched: list[Rec], process_id: ProcessIds, at: datetime) -> None:
    """The records the batch created or changed, and their history: each record's attributes
    are written as JSON once (a record created by one change has the attributes it was given,
    so its history row holds the same text)."""
    conn, account_id = batch.conn, batch.schema.account_id
    process_of = _process_of(process_id)
    dumps = codec.dumps_text
    inserted: list[store.RecordRow] = []
    updated: list[store.RecordRow] = []
    history: list[store.ChangeRow] = []
    moved: list[int] = []
    for r in touched:
        changes = r.changes
        if r.is_new:
            text = dumps(r.attributes)
            inserted.append((r.id, r.ext_id, text))
            if len(changes) == 1:
                history.append((r.id, process_of(changes[0][0]), text))
                continue
        else:
            if r.stored_ext_id is not None and r.stored_ext_id != r.ext_id:
                moved.append(r.id)
            if r.dirty:
                updated.append((r.id, r.ext_id, dumps(r.attributes)))
        history.extend((r.id, process_of(index), dumps(change)) for index, change in changes)
    # ext_ids that move within the batch are released first: unique checks run row by row
    store.release_ext_ids(conn, moved)
    store.update_records(conn, updated, at)
    store.insert_records(conn, account_id, batch.t.id, inserted, at)
    store.insert_history(conn, account_id, history, at)


def _write_identifiers(batch: Batch, remap: dict[int, int]) -> None:
    """The identifier values that changed hands: gone from their old owner, given to the new
    (a record this batch creates owns nothing yet, so its provisional id never matches)."""
    initial, owners = batch.initial_owners, batch.owners
    gone = [pair for pair, owner in initial.items() if owners.get(pair) != owner]
    store.delete_identifiers(batch.conn, batch.t.id, gone)
    store.insert_identifiers(
        batch.conn,
        batch.schema.account_id,
        batch.t.id,
        [
            (kind, value, owner if owner > 0 else remap[owner])
            for (kind, value), owner in owners.items()
            if initial.get((kind, value)) != owner
        ],
    )


def _type_ids(batch: Batch) -> Callable[[int], int]:
    """record id → its type id, for the records this batch may link."""
    owner: dict[int, int] = {rec.id: batch.t.id for rec in batch.by_id.values()}
    for name, (by_id, _) in batch.targets.items():
        other = batch.schema.types.get(name)
        if other is not None:
            for rid in by_id.values():
                owner[rid] = other.id
    return lambda record_id: owner.get(record_id, batch.t.id)


def _write_links(batch: Batch, real_id: Callable[[int], int], at: datetime) -> None:
    if batch.links == batch.initial_links:  # the batch linked and unlinked nothing
        return
    links = {(real_id(a), real_id(b)): labels for (a, b), labels in batch.links.items()}
    initial = batch.initial_links
    type_of = _type_ids(batch)
    store.unlink(batch.conn, [(a, b) for a, b in initial.keys() - links.keys() if a < b])
    store.relabel(
        batch.conn,
        [
            (a, b, labels)
            for (a, b), labels in links.items()
            if a < b and (a, b) in initial and initial[(a, b)] != labels
        ],
    )
    store.link(
        batch.conn,
        [
            {
                "record_id": a,
                "other_record_id": b,
                "other_type_id": type_of(b),
                "account_id": batch.schema.account_id,
                "created_at": at,
                "labels": store.labels_text(links[(a, b)]),
            }
            for a, b in links.keys() - initial.keys()
        ],
    )


def write_plan(conn: Connection, plan: Plan, process_id: ProcessIds, at: datetime) -> Outcome:
    """Write a plan as it stands (the caller made sure it still holds)."""
    batch = plan.batch
    batch.conn = conn
    remap = _assign_ids(conn, plan.touched, plan.outcome)

    def real_id(i: int) -> int:
        return remap.get(i, i)

    _write_records(batch, plan.touched, process_id, at)
    _write_identifiers(batch, remap)
    _write_links(batch, real_id, at)
    return plan.outcome


def write_upsert(
    conn: Connection, schema: AccountSchema, plan: Plan, *, process_id: ProcessIds, at: datetime
) -> Outcome | None:
    """Write a plan made on a snapshot; ``None`` when it went stale (the schema changed, or a
    record it links to is gone) and must be made again inside the write transaction."""
    t = schema.types.get(plan.batch.t.name)
    if (
        t is None
        or t.fingerprint() != plan.fingerprint
        or t.associations != plan.associations
        or frozenset(schema.labels) != plan.labels
    ):
        return None
    targets = plan.batch.link_targets()
    if targets and store.count_live(conn, targets) != len(targets):
        return None
    store.lock_partition(conn, f"{schema.account_id}:{t.name}")
    return write_plan(conn, plan, process_id, at)


def apply_upsert(
    conn: Connection,
    schema: AccountSchema,
    object_type: ObjectType,
    commands: list[dict[str, Any]],
    *,
    process_id: ProcessIds = None,
    at: datetime | None = None,
    prechecked: bool = False,
    strict: bool = False,
    origin: Origin = _this_batch,
) -> Outcome:
    """Plan and write record commands in order, under the partition's lock; return one result
    per command.

    ``prechecked``: the attributes were checked (and warned about) against this very schema when
    the batch was accepted, so they are not checked again. ``strict``: an attribute the type
    does not define fails its command.
    """
    store.lock_partition(conn, f"{schema.account_id}:{object_type.name}")
    plan = plan_upsert(
        conn, schema, object_type, commands, prechecked=prechecked, strict=strict, origin=origin
    )
    return write_plan(conn, plan, process_id, at or clock.now())


def write_or_apply(
    conn: Connection,
    schema: AccountSchema,
    object_type: ObjectType,
    commands: Callable[[], list[dict[str, Any]]],
    *,
    prepared: Plan | None,
    process_id: ProcessIds,
    at: datetime,
    fingerprint: str | None,
) -> Outcome:
    """Write the plan made on a snapshot when it still holds, else plan and apply ``commands()``
    here, under the write lock (``fingerprint``: of the schema the commands were checked with)."""
    if prepared is not None:
        done = write_upsert(conn, schema, prepared, process_id=process_id, at=at)
        if done is not None:
            return done
    return apply_upsert(
        conn,
        schema,
        object_type,
        commands(),
        process_id=process_id,
        at=at,
        prechecked=fingerprint == object_type.fingerprint(),
    )
