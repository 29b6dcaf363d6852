"""SQL for search: the filters as one statement on either backend, narrowed by the type's index
(for an exact unique value, by the identifiers table's), and the indexes that make filters and
sorts on a type's searchable attributes fast.

A searchable attribute gets a partial expression index per type (``WHERE object_type_id = <id>
AND archived_at IS NULL``, on the attribute's value as the search compares it, then ``id``): a
filter on the value is a range of it, a sort by it (then by id) reads it in order, and a count of
a range reads it alone. On SQLite the index also leads with the type, which makes it the better
choice over the type's plain index even to a planner without statistics; PostgreSQL drops the
type from the conditions its partial index implies, so there a leading type column would leave
the value without a range to start from and every search would read the whole index (measured:
47 ms against 1.3 ms for 1,000 of a million records). The planners use a partial index only
when the query names the same constants and expressions, so type ids and attribute keys are
written into the SQL as literals here (both are checked: an integer, and a key of letters,
digits and ``_``); values are always bound."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from crmbatch.db.tables import identifiers, list_members, records

_COLUMNS = ("id", "created_at", "updated_at")


def _pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


#: the attributes as PostgreSQL holds them (JSONB: @> applies)
_JSONB = sa.type_coerce(records.c.attributes, JSONB)
_KEY = re.compile(r"^[A-Za-z0-9_]{1,255}$")


def _value_sql(dialect: str, key: str, kind: str, column: str = "records.attributes") -> str:
    """An attribute's value as search compares it, as SQL text (the index's expression too,
    with the column unqualified)."""
    if not _KEY.match(key):
        raise ValueError(f"not an attribute key: {key!r}")
    if dialect == "postgresql":
        text = f"({column} ->> '{key}')"
        if kind == "number":
            return f"CAST({text} AS NUMERIC)"
        if kind == "boolean":
            return f"CAST({text} AS BOOLEAN)"
        return text
    return f"json_extract({column}, '$.{key}')"


def _value(conn: Connection, field: str, kind: str) -> Any:
    """The expression of a field's value, typed for comparison."""
    if field in _COLUMNS:
        return records.c[field]
    return sa.literal_column(_value_sql(conn.dialect.name, field, kind))


def _text(conn: Connection, field: str) -> Any:
    if field in _COLUMNS:
        return sa.cast(records.c[field], sa.Text)
    return sa.cast(_value(conn, field, "text"), sa.Text)


def _type_is(type_id: int) -> ColumnElement[bool]:
    """``object_type_id = <id>`` with the id as a literal (what a partial index names)."""
    return records.c.object_type_id == sa.literal_column(str(int(type_id)))


def index_name(type_id: int, key: str, kind: str) -> str:
    digest = hashlib.sha1(f"{key}:{kind}".encode()).hexdigest()[:12]
    return f"ix_search_{int(type_id)}_{digest}"


def indexes(conn: Connection, type_id: int) -> set[str]:
    """The search indexes a type has."""
    prefix = f"ix_search_{int(type_id)}_"
    if _pg(conn):
        sql = "SELECT indexname FROM pg_indexes WHERE tablename = 'records'"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records'"
    return {n for (n,) in conn.exec_driver_sql(sql) if n.startswith(prefix)}


def sync_indexes(conn: Connection, type_id: int, wanted: dict[str, str]) -> list[str]:
    """Give a type the search indexes of ``wanted`` (attribute key → type), and only those;
    what was created or dropped, one line each."""
    names = {index_name(type_id, k, kind): (k, kind) for k, kind in wanted.items()}
    have = indexes(conn, type_id)
    done = []
    for name in sorted(have - names.keys()):
        conn.exec_driver_sql(f"DROP INDEX {name}")
        done.append(f"- index {name}")
    for name in sorted(names.keys() - have):
        key, kind = names[name]
        conn.exec_driver_sql(create_index_sql(conn.dialect.name, name, type_id, key, kind))
        done.append(f"+ index {name} ({key})")
    return done


def create_index_sql(dialect: str, name: str, type_id: int, key: str, kind: str) -> str:
    """The statement that makes a search index (see the module's docstring for its shape)."""
    value = _value_sql(dialect, key, kind, column="attributes")
    lead = "" if dialect == "postgresql" else "object_type_id, "
    return (
        f"CREATE INDEX {name} ON records ({lead}{value}, id)"
        f" WHERE object_type_id = {int(type_id)} AND archived_at IS NULL"
    )


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


#: operators that only match a record holding a value
_NEEDS_VALUE = frozenset({"EQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "HAS_PROPERTY"})


def _valued(groups: list[list[Any]], field: str, operators: frozenset[str] = _NEEDS_VALUE) -> bool:
    """Whether every group requires ``field`` to hold a value (by one of ``operators``)."""
    return bool(groups) and all(
        any(c.field == field and c.operator in operators for c in g) for g in groups
    )


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
    members_of: list[int] | None = None,
    count_up_to: int | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """(how many match, one page of them as records with timestamps); ``members_of``: only
    contacts in one of these lists; ``count_up_to``: count no further than that (a page over
    a large type then costs its rows, not a count of every record)."""
    where: list[ColumnElement[bool]] = [_type_is(type_id), records.c.archived_at.is_(None)]
    if members_of is not None:
        where.append(
            records.c.id.in_(
                sa.select(list_members.c.contact_id).where(list_members.c.list_id.in_(members_of))
            )
        )
    if groups:
        where.append(sa.or_(*(sa.and_(*(_condition(conn, type_id, c) for c in g)) for g in groups)))
    if text:
        pattern = _like(text)
        fields = [sa.func.lower(_text(conn, f)) for f in text_fields]
        fields.append(sa.func.lower(sa.func.coalesce(records.c.ext_id, "")))
        where.append(sa.or_(*(f.like(pattern, escape="\\") for f in fields)))
    if count_up_to is None:
        counted = sa.select(sa.func.count()).select_from(records).where(*where)
    else:
        matches = sa.select(records.c.id).where(*where).limit(count_up_to).subquery()
        counted = sa.select(sa.func.count()).select_from(matches)
    total = conn.execute(counted).scalar_one()
    order: list[Any] = []
    tie: Any = records.c.id
    if sort is not None:
        field, descending, kind = sort
        value = _value(conn, field, kind)
        # records without a value come last; when the filters leave none (or the field is a
        # column, never null), the plain order is the same and an index can give it (on
        # PostgreSQL a backward index scan is NULLS FIRST: NULLS LAST would sort every record);
        # when the filters fix the value, only the ids order
        if len(groups) == 1 and _valued(groups, field, frozenset({"EQ"})):
            pass
        elif field in _COLUMNS or _valued(groups, field):
            order.append(value.desc() if descending else value.asc())
        else:
            order.append(value.desc().nulls_last() if descending else value.asc().nulls_last())
        tie = records.c.id.desc() if descending else records.c.id.asc()
    order.append(tie)
    if limit == 0:
        return int(total), []
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
