"""SQL for search: the filters as one statement on either backend, narrowed by the type's index
(and, for an exact unique value, by the identifiers table's)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from crmbatch.db.tables import identifiers, records

_COLUMNS = ("id", "created_at", "updated_at")


def _pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


#: the attributes as PostgreSQL holds them (JSONB: ->> and @> apply)
_JSONB = sa.type_coerce(records.c.attributes, JSONB)


def _value(conn: Connection, field: str, kind: str) -> Any:
    """The expression of a field's value, typed for comparison."""
    if field in _COLUMNS:
        return records.c[field]
    if _pg(conn):
        text = _JSONB[field].astext
        if kind == "number":
            return sa.cast(text, sa.Numeric)
        if kind == "boolean":
            return sa.cast(text, sa.Boolean)
        return text
    return sa.func.json_extract(records.c.attributes, f"$.{field}")


def _text(conn: Connection, field: str) -> Any:
    if field in _COLUMNS:
        return sa.cast(records.c[field], sa.Text)
    if _pg(conn):
        return _JSONB[field].astext
    return sa.cast(sa.func.json_extract(records.c.attributes, f"$.{field}"), sa.Text)


def _bound(conn: Connection, kind: str, value: Any) -> Any:
    if kind == "boolean" and not _pg(conn):
        return 1 if value else 0  # SQLite's json_extract gives true as 1
    return value


def _holds(conn: Connection, field: str, values: tuple[Any, ...]) -> ColumnElement[bool]:
    """A multiple choice holds any of ``values``."""
    if _pg(conn):
        return sa.or_(*(_JSONB[field].contains([v]) for v in values))
    options = sa.func.json_each(records.c.attributes, f"$.{field}").table_valued("value")
    return sa.exists(sa.select(1).select_from(options).where(options.c.value.in_(values)))


def _like(token: str) -> str:
    escaped = token.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%") if "*" in token else f"%{escaped}%"


def _condition(conn: Connection, type_id: int, c: Any) -> ColumnElement[bool]:
    op, kind = c.operator, c.kind
    if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        present = _value(conn, c.field, kind).isnot(None)
        return present if op == "HAS_PROPERTY" else sa.not_(present)
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        text = _text(conn, c.field)
        token = sa.func.lower(text).like(_like(c.values[0]), escape="\\")
        return token if op == "CONTAINS_TOKEN" else sa.or_(text.is_(None), sa.not_(token))
    if c.identifier is not None:  # an exact unique value: one index probe
        return records.c.id.in_(
            sa.select(identifiers.c.record_id).where(
                identifiers.c.object_type_id == type_id,
                identifiers.c.kind == f"attr:{c.field}",
                identifiers.c.value == c.identifier,
            )
        )
    values = tuple(_bound(conn, kind, v) for v in c.values)
    if kind == "multiple_category" and op in ("EQ", "IN", "NEQ", "NOT_IN"):
        hit = _holds(conn, c.field, values)
        return hit if op in ("EQ", "IN") else sa.not_(hit)
    value = _value(conn, c.field, kind)
    if op == "EQ":
        return value == values[0]
    if op == "NEQ":
        return sa.or_(value.is_(None), value != values[0])
    if op == "IN":
        return value.in_(values)
    if op == "NOT_IN":
        return sa.or_(value.is_(None), value.not_in(values))
    if op == "BETWEEN":
        return value.between(values[0], values[1])
    compare = {"LT": value < values[0], "LTE": value <= values[0]}
    compare |= {"GT": value > values[0], "GTE": value >= values[0]}
    return compare[op]


def search(
    conn: Connection,
    type_id: int,
    groups: list[list[Any]],
    *,
    text: str | None,
    text_fields: list[str],
    sort: tuple[str, bool, str] | None,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    """(how many match, one page of them as records with timestamps)."""
    where: list[ColumnElement[bool]] = [
        records.c.object_type_id == type_id,
        records.c.archived_at.is_(None),
    ]
    if groups:
        where.append(sa.or_(*(sa.and_(*(_condition(conn, type_id, c) for c in g)) for g in groups)))
    if text:
        pattern = _like(text)
        fields = [sa.func.lower(_text(conn, f)) for f in text_fields]
        fields.append(sa.func.lower(sa.func.coalesce(records.c.ext_id, "")))
        where.append(sa.or_(*(f.like(pattern, escape="\\") for f in fields)))
    total = conn.execute(sa.select(sa.func.count()).select_from(records).where(*where)).scalar_one()
    order: list[Any] = []
    if sort is not None:
        field, descending, kind = sort
        value = _value(conn, field, kind)
        order.append(value.desc().nulls_last() if descending else value.asc().nulls_last())
    order.append(records.c.id)
    rows = conn.execute(
        sa.select(
            records.c.id,
            records.c.ext_id,
            records.c.attributes,
            records.c.created_at,
            records.c.updated_at,
            records.c.archived_at,
        )
        .where(*where)
        .order_by(*order)
        .limit(limit)
        .offset(offset)
    ).mappings()
    return int(total), [dict(r) for r in rows]
