"""Run one claimed process through the core, by kind. Dialect-neutral: the payload already holds
core commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection, RowMapping

from crmbatch.core import clock
from crmbatch.core.events import apply as events_apply
from crmbatch.core.events.service import KIND_EVENTS
from crmbatch.core.processes.service import new_counts
from crmbatch.core.records import apply as records_apply
from crmbatch.core.records.service import KIND_DELETE, KIND_UPSERT
from crmbatch.core.schema import service as schemas

Handler = Callable[[Connection, RowMapping, dict[str, Any], Any], records_apply.Outcome]


def _missing_type(payload: dict[str, Any], n: int) -> records_apply.Outcome:
    error = {
        "code": "object_type_not_found",
        "field": "object_type",
        "message": f"object type {payload['object_type']!r} no longer exists",
    }
    results = [
        {
            "index": i,
            "status": "failed",
            "id": None,
            "ext_id": None,
            "errors": [error],
            "warnings": [],
        }
        for i in range(n)
    ]
    return records_apply.Outcome({**new_counts(n), "failed": n}, results)


def prepare(conn: Connection, row: RowMapping, payload: dict[str, Any]) -> Any:
    """Work a process's outcome out on a read snapshot, outside the write lock (``None`` when
    its kind has nothing to prepare). :func:`run` then only writes it, if still valid."""
    if row["kind"] == KIND_EVENTS:
        return events_apply.plan(conn, schemas.load(conn, row["account_id"]), payload)
    if row["kind"] != KIND_UPSERT:
        return None
    schema = schemas.load(conn, row["account_id"])
    t = schema.types.get(payload["object_type"])
    if t is None:
        return None
    prechecked = payload.get("fingerprint") == t.fingerprint()
    return records_apply.plan_upsert(conn, schema, t, payload["records"], prechecked=prechecked)


def _upsert(
    conn: Connection, row: RowMapping, payload: dict[str, Any], prepared: Any = None
) -> records_apply.Outcome:
    schema = schemas.load(conn, row["account_id"])
    if prepared is not None:
        done = records_apply.write_upsert(
            conn, schema, prepared, process_id=row["id"], at=clock.now()
        )
        if done is not None:
            return done
    t = schema.types.get(payload["object_type"])
    if t is None:
        return _missing_type(payload, len(payload["records"]))
    return records_apply.apply_upsert(
        conn,
        schema,
        t,
        payload["records"],
        process_id=row["id"],
        prechecked=payload.get("fingerprint") == t.fingerprint(),
    )


def _delete(
    conn: Connection, row: RowMapping, payload: dict[str, Any], prepared: Any = None
) -> records_apply.Outcome:
    schema = schemas.load(conn, row["account_id"])
    t = schema.types.get(payload["object_type"])
    if t is None:
        return _missing_type(payload, len(payload.get("ids") or payload.get("ext_ids") or []))
    return records_apply.apply_delete(
        conn, schema, t, ids=payload.get("ids"), ext_ids=payload.get("ext_ids")
    )


def _events(
    conn: Connection, row: RowMapping, payload: dict[str, Any], prepared: Any = None
) -> records_apply.Outcome:
    return events_apply.apply(
        conn,
        schemas.load(conn, row["account_id"]),
        payload,
        prepared=prepared,
        process_id=row["id"],
        at=clock.now(),
    )


HANDLERS: dict[str, Handler] = {
    KIND_UPSERT: _upsert,
    KIND_DELETE: _delete,
    KIND_EVENTS: _events,
}


def run(
    conn: Connection, row: RowMapping, payload: dict[str, Any], prepared: Any = None
) -> records_apply.Outcome:
    handler = HANDLERS.get(row["kind"])
    if handler is None:
        raise LookupError(f"no handler for process kind {row['kind']!r}")
    return handler(conn, row, payload, prepared)
