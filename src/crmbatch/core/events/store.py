"""SQL for events: one bulk insert per batch, and the reads of ``GET /v3/events``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from crmbatch.db import bulk
from crmbatch.db.tables import events

_COLUMNS = (
    events.c.id,
    events.c.contact_id,
    events.c.name,
    events.c.event_date,
    events.c.properties,
    events.c.contact_properties,
    events.c.object_type,
    events.c.object_record_id,
)


def reserve_ids(conn: Connection, n: int) -> list[int]:
    """``n`` fresh event ids; events are written under the contacts' partition lock."""
    return bulk.reserve_ids(conn, "events", n)


def _sqlite_timestamp(iso: str) -> str:
    """``2024-01-24T16:39:57.123Z`` (as :func:`crmbatch.core.clock.iso` writes it) in SQLite's
    stored form ``2024-01-24 16:39:57.123000``."""
    if len(iso) == 24 and iso[10] == "T" and iso[23] == "Z":
        return f"{iso[:10]} {iso[11:23]}000"
    return bulk.timestamp(datetime.fromisoformat(iso.replace("Z", "+00:00")))


def insert(conn: Connection, rows: list[dict[str, Any]], at: datetime) -> None:
    """Each row: ``id``, ``account_id``, ``contact_id``, ``name``, ``event_date`` (ISO 8601),
    ``properties``, ``contact_properties``, ``object_type``, ``object_record_id``,
    ``process_id``."""
    if not rows:
        return
    c = bulk.column
    bulk.write(
        conn,
        "INSERT INTO events (id, account_id, contact_id, name, event_date, properties,"
        " contact_properties, object_type, object_record_id, process_id, created_at)"
        f" SELECT {c(0)}, {c(1)}, {c(2)}, {c(3)}, {c(4)}, {c(5)}, {c(6)}, {c(7)}, {c(8)},"
        f" {c(9)}, :at FROM json_each(:rows)",
        lambda: [
            (
                r["id"],
                r["account_id"],
                r["contact_id"],
                r["name"],
                _sqlite_timestamp(r["event_date"]),
                bulk.to_json(r["properties"]),
                bulk.to_json(r["contact_properties"]),
                r["object_type"],
                r["object_record_id"],
                r["process_id"],
            )
            for r in rows
        ],
        "INSERT INTO events (id, account_id, contact_id, name, event_date, properties,"
        " contact_properties, object_type, object_record_id, process_id, created_at)"
        " SELECT t.id, t.account_id, t.contact_id, t.name, t.event_date, t.properties,"
        " t.contact_properties, t.object_type, t.object_record_id, t.process_id, %(at)s"
        " FROM jsonb_to_recordset(%(rows)s::jsonb) AS t(id bigint, account_id bigint,"
        " contact_id bigint, name text, event_date timestamptz, properties json,"
        " contact_properties json, object_type text, object_record_id bigint, process_id bigint)",
        rows,
        at,
    )


def page(
    conn: Connection,
    account_id: int,
    *,
    contact_ids: Sequence[int],
    names: Sequence[str],
    object_types: Sequence[str],
    since: datetime,
    until: datetime,
    limit: int,
    offset: int,
) -> tuple[int, list[RowMapping]]:
    where = [
        events.c.account_id == account_id,
        events.c.event_date >= since,
        events.c.event_date < until,
    ]
    if contact_ids:
        where.append(events.c.contact_id.in_(list(contact_ids)))
    if names:
        where.append(events.c.name.in_(list(names)))
    if object_types:
        where.append(events.c.object_type.in_(list(object_types)))
    total = conn.execute(sa.select(sa.func.count()).select_from(events).where(*where)).scalar_one()
    rows = conn.execute(
        sa.select(*_COLUMNS)
        .where(*where)
        .order_by(events.c.event_date.desc(), events.c.id.desc())
        .limit(limit)
        .offset(offset)
    ).mappings()
    return int(total), list(rows)


def latest_for_contact(
    conn: Connection, account_id: int, contact_id: int, limit: int
) -> list[RowMapping]:
    return list(
        conn.execute(
            sa.select(*_COLUMNS)
            .where(events.c.account_id == account_id, events.c.contact_id == contact_id)
            .order_by(events.c.event_date.desc(), events.c.id.desc())
            .limit(limit)
        ).mappings()
    )
