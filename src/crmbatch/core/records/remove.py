"""Delete records (Brevo's batch delete) and archive them (HubSpot's archive), planned first
(what a dry run shows) and then written, inside the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from crmbatch.core.records import store
from crmbatch.core.results import Outcome, Result, error
from crmbatch.core.schema.model import AccountSchema, ObjectType


@dataclass
class Removal:
    """Which records a delete or archive reaches, and each item's result."""

    outcome: Outcome
    ids: list[int]

    def preview(self) -> Outcome:
        return self.outcome


def plan_delete(
    conn: Connection,
    object_type: ObjectType,
    *,
    ids: list[int] | None = None,
    ext_ids: list[str] | None = None,
) -> Removal:
    """Each id or ext_id: the record it deletes, or ``record_not_found`` (a key given twice
    fails the second time: the record is gone by then)."""
    keys: list[Any] = list(ids or ext_ids or [])
    by_ext = ext_ids is not None
    label = "ext_id" if by_ext else "id"
    found = store.fetch(
        conn, object_type.id, ids=[] if by_ext else keys, ext_ids=keys if by_ext else []
    )
    index = {(ext if by_ext else rid): (rid, ext) for rid, ext, _, _ in found}
    results: list[Result] = []
    doomed: list[int] = []
    seen: set[Any] = set()
    for i, key in enumerate(keys):
        row = index.get(key)
        if row is None or key in seen:
            missing = error(
                "record_not_found",
                f"identifiers.{label}s[{i}]",
                f"no {object_type.name} record has {label} {key!r}",
            )
            results.append(
                Result.failure(
                    i, missing, id=None if by_ext else key, ext_id=key if by_ext else None
                )
            )
            continue
        seen.add(key)
        doomed.append(row[0])
        results.append(Result(i, "deleted", row[0], row[1]))
    return Removal(Outcome(results), doomed)


def apply_delete(
    conn: Connection,
    schema: AccountSchema,
    object_type: ObjectType,
    *,
    ids: list[int] | None = None,
    ext_ids: list[str] | None = None,
) -> Outcome:
    """Delete records by id or ext_id, with their links, identifiers and history."""
    store.lock_partition(conn, f"{schema.account_id}:{object_type.name}")
    removal = plan_delete(conn, object_type, ids=ids, ext_ids=ext_ids)
    store.delete_records(conn, object_type.id, removal.ids)
    return removal.outcome


def plan_archive(conn: Connection, object_type: ObjectType, ids: list[int]) -> Removal:
    """Each id: the live record it archives, or ``skipped`` (unknown or already archived)."""
    live = {
        rid: ext
        for rid, ext, _, archived in store.fetch(conn, object_type.id, ids=sorted(set(ids)))
        if not archived
    }
    results = []
    for i, rid in enumerate(ids):
        if rid in live:
            results.append(Result(i, "archived", rid, live.pop(rid)))
        else:
            results.append(Result(i, "skipped", rid))
    return Removal(Outcome(results), [r.id for r in results if r.status == "archived" and r.id])


def apply_archive(
    conn: Connection,
    schema: AccountSchema,
    object_type: ObjectType,
    *,
    ids: list[int],
    at: datetime,
) -> Outcome:
    """Archive records by id (HubSpot's archive): hidden from reads, identifiers kept, so an
    upsert that matches one restores it. Unknown or already archived ids are ``skipped``."""
    store.lock_partition(conn, f"{schema.account_id}:{object_type.name}")
    removal = plan_archive(conn, object_type, ids)
    store.archive(conn, object_type.id, removal.ids, at)
    return removal.outcome
