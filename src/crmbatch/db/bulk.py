"""The shapes of SQL that keep a batch at a constant number of statements on both backends.

Every store module builds its hot statements from these: a whole list of keys bound as one
parameter, a whole batch of rows written by one statement, ids reserved for a batch in one go.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crmbatch.db import codec


def is_pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


@contextmanager
def _cursor(conn: Connection) -> Iterator[Any]:
    """The driver's own cursor on the connection (inside its transaction)."""
    cursor = conn.connection.cursor()
    try:
        yield cursor
    finally:
        cursor.close()


def rows(conn: Connection, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The rows of a raw statement (in the driver's parameter style) as plain tuples, read on
    the connection's own cursor: the hot reads of a batch return thousands of rows, and
    wrapping each one in a SQLAlchemy row costs more than the database took to find it."""
    with _cursor(conn) as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def one_of(
    conn: Connection, column: str, values: Sequence[Any], sql_type: str, *, name: str = "values"
) -> tuple[str, str, Any]:
    """``(join, condition, parameter)`` selecting the rows whose ``column`` is in ``values``,
    with the whole list bound as one parameter ``name``.

    Each backend gets the shape its planner turns into one index probe per value, whatever the
    table's statistics: PostgreSQL joins ``unnest(array)`` (``= ANY(array)`` degrades to a scan
    while statistics are stale); SQLite takes ``IN (SELECT … FROM json_each(…))`` (a join against
    ``json_each`` may put the table in the outer loop and scan it once per value).
    """
    if is_pg(conn):
        alias = f"k_{name}"
        join = f" JOIN unnest(%({name})s::{sql_type}[]) AS {alias}(key) ON {column} = {alias}.key"
        return join, "TRUE", list(values)
    return "", f"{column} IN (SELECT value FROM json_each(:{name}))", to_json(list(values))


def probe(
    conn: Connection, select: str, column: str, values: Sequence[Any], sql_type: str
) -> tuple[str, Any]:
    """``(sql, parameter)``: ``select`` (a ``SELECT … WHERE …`` ending in its conditions) for
    each of ``values`` of ``column``, which names at most one row per value, as one statement
    with the list bound as one parameter ``values``.

    Unlike :func:`one_of`, the shape leaves the planner no choice, so stale statistics cannot turn
    a thousand index probes into a scan of a whole type (PostgreSQL with ``autovacuum`` off, or
    right after a bulk load, estimated a type's 260,000 identifiers as one row and hashed them
    all for every batch): PostgreSQL runs the select once per value, fenced by ``LIMIT 1``, under
    ``LATERAL``; SQLite takes ``IN (SELECT … FROM json_each(…))``, which its planner always
    turns into probes.
    """
    if is_pg(conn):
        sql = (
            f"SELECT x.* FROM unnest(%(values)s::{sql_type}[]) AS k(key)"
            f" CROSS JOIN LATERAL ({select} AND {column} = k.key LIMIT 1) AS x"
        )
        return sql, list(values)
    return f"{select} AND {column} IN (SELECT value FROM json_each(:values))", to_json(list(values))


def execute(conn: Connection, sql: str, params: dict[str, Any]) -> None:
    """A raw statement that returns nothing, on the connection's own cursor (see :func:`rows`):
    the few statements every batch runs, without building and caching a SQLAlchemy statement
    each time."""
    with _cursor(conn) as cursor:
        cursor.execute(sql, params)


def at(conn: Connection, moment: datetime) -> Any:
    """A timestamp as a raw statement binds it: as SQLAlchemy stores it on SQLite (text), an
    aware datetime on PostgreSQL."""
    return moment if is_pg(conn) else timestamp(moment)


def param(conn: Connection, name: str) -> str:
    """A named parameter in the driver's own style (for ``exec_driver_sql``)."""
    return f"%({name})s" if is_pg(conn) else f":{name}"


#: the sequence behind each table's ``id`` (PostgreSQL's names for serial columns)
_SEQUENCES = {"records": "records_id_seq", "events": "events_id_seq"}


def reserve_ids(conn: Connection, table: str, n: int) -> list[int]:
    """``n`` fresh ids of ``table`` (an autoincrement ``id``). Called by the table's one writer:
    SQLite has a single writer; PostgreSQL draws from the sequence, which is safe for many."""
    if n == 0:
        return []
    if is_pg(conn):
        # the sequence named once, as a constant: looked up per row it costs 8 µs an id
        result = conn.exec_driver_sql(
            f"SELECT nextval('{_SEQUENCES[table]}'::regclass) FROM generate_series(1, %(n)s)",
            {"n": n},
        )
        return [r[0] for r in result]
    top = conn.execute(
        sa.text(
            f"SELECT max(coalesce((SELECT max(id) FROM {table}), 0),"
            f" coalesce((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0))"
        )
    ).scalar_one()
    return list(range(int(top) + 1, int(top) + 1 + n))


def moment(value: Any) -> Any:
    """A timestamp read with a raw statement, aware UTC: SQLite gives the text SQLAlchemy
    stored, PostgreSQL an aware datetime."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value


def timestamp(at: datetime) -> str:
    """A timestamp as SQLAlchemy stores it in SQLite (naive UTC with microseconds)."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def to_json(value: Any) -> str:
    return codec.dumps_text(value)


def raw(text: str) -> orjson.Fragment:
    """JSON text placed as it is inside a document :func:`to_json` writes (written once per
    record, whichever backend it goes to)."""
    return orjson.Fragment(text)


def write(
    conn: Connection,
    sqlite_sql: str,
    sqlite_rows: Rows,
    pg_sql: str,
    pg_rows: Rows,
    at: datetime | None = None,
    *,
    per_row: bool = False,
    **constants: Any,
) -> None:
    """One bulk statement with the whole batch as one JSON value (``rows``), the timestamp
    ``at`` and each of ``constants`` bound by name: on SQLite an array of rows read with
    ``json_each`` (see :func:`column`), on PostgreSQL an array of objects read with
    ``jsonb_to_recordset``. Rows built for one backend only are given as a function that makes
    them (the other backend's rows are then never built).

    One statement, not an ``executemany``: SQLite then binds no parameters per row, and the
    driver releases Python's lock for the whole statement instead of taking it back for every
    row. With ``per_row``, SQLite's statement takes one positional row at a time instead
    (``executemany``): faster there for updates by id and for rows that are mostly one long
    JSON text, which a document would make SQLite unescape again. The hot writes bypass
    SQLAlchemy's per-row parameter processing, which costs as much as the database itself here
    (see PERFORMANCE.md and benchmarks/upsert.py).
    """
    if is_pg(conn):
        rows = _made(pg_rows)
        conn.exec_driver_sql(pg_sql, {"rows": to_json(rows), "at": at, **constants})
    elif per_row:
        conn.exec_driver_sql(sqlite_sql, _made(sqlite_rows))
    else:
        stamp = None if at is None else timestamp(at)
        rows = _made(sqlite_rows)
        conn.exec_driver_sql(sqlite_sql, {"rows": to_json(rows), "at": stamp, **constants})


#: a bulk write's rows, or a function that makes them (when only one backend needs them)
Rows = Sequence[Any] | Callable[[], Sequence[Any]]


def _made(rows: Rows) -> Sequence[Any]:
    return rows() if callable(rows) else rows


def column(index: int) -> str:
    """The ``index``-th value of a row of :func:`write`'s SQLite document (JSON text given as a
    string comes out as that text, a number as a number)."""
    return f"json_extract(value, '$[{index}]')"
