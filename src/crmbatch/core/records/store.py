"""SQL for records, identifiers, associations and history: a constant number of statements per
batch, whatever its size."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, RowMapping

from crmbatch.db import bulk
from crmbatch.db.bulk import one_of as _one_of
from crmbatch.db.bulk import param as _param
from crmbatch.db.bulk import probe as _probe
from crmbatch.db.bulk import rows as _rows
from crmbatch.db.tables import associations, identifiers, list_members, record_history, records

_c = bulk.column

_CHUNK = 900  # stay under SQLite's bound-parameter limit in IN (...) lists


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]


def lock_partition(conn: Connection, key: str) -> None:
    """Serialise writers of one partition (PostgreSQL; SQLite has one writer anyway)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(key))))


def fetch(
    conn: Connection, type_id: int, *, ids: Sequence[int] = (), ext_ids: Sequence[str] = ()
) -> list[tuple[int, str | None, dict[str, Any], bool]]:
    """(id, ext_id, attributes, archived) of records of a type by id or by ext_id: the hot read
    of every batch, one statement each, whatever the number of values."""
    out: list[tuple[int, str | None, dict[str, Any], bool]] = []
    for column, values, sql_type in (("id", ids, "bigint"), ("ext_id", ext_ids, "text")):
        if not values:
            continue
        select = (
            "SELECT r.id, r.ext_id, r.attributes, r.archived_at IS NOT NULL AS archived"
            f" FROM records AS r WHERE r.object_type_id = {_param(conn, 'type_id')}"
        )
        sql, param = _probe(conn, select, f"r.{column}", values, sql_type)
        for rid, ext, attrs, archived in _rows(conn, sql, {"type_id": type_id, "values": param}):
            attributes = orjson.loads(attrs) if isinstance(attrs, str) else attrs
            out.append((rid, ext, attributes, bool(archived)))
    return out


def lookup_identifiers(
    conn: Connection, type_id: int, pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """(kind, value) → record id for the pairs that are taken."""
    by_kind: dict[str, list[str]] = {}
    for kind, value in pairs:
        by_kind.setdefault(kind, []).append(value)
    found: dict[tuple[str, str], int] = {}
    for kind, values in by_kind.items():
        select = (
            "SELECT i.value, i.record_id FROM identifiers AS i"
            f" WHERE i.object_type_id = {_param(conn, 'type_id')}"
            f" AND i.kind = {_param(conn, 'kind')}"
        )
        sql, param = _probe(conn, select, "i.value", sorted(set(values)), "text")
        params = {"type_id": type_id, "kind": kind, "values": param}
        for value, record_id in _rows(conn, sql, params):
            found[(kind, value)] = record_id
    return found


def labels_of(text: str | None) -> frozenset[int]:
    """The label ids a link's ``labels`` column holds."""
    return frozenset(int(p) for p in text.split(",")) if text else frozenset()


def labels_text(labels: frozenset[int]) -> str | None:
    return ",".join(str(i) for i in sorted(labels)) if labels else None


def existing_links(
    conn: Connection, record_ids: Sequence[int], other_ids: Sequence[int]
) -> dict[tuple[int, int], frozenset[int]]:
    """The (record, other) links among the given records with their labels, one statement."""
    if not record_ids or not other_ids:
        return {}
    join_a, cond_a, records_param = _one_of(conn, "a.record_id", sorted(set(record_ids)), "bigint")
    join_b, cond_b, others_param = _one_of(
        conn, "a.other_record_id", sorted(set(other_ids)), "bigint", name="others"
    )
    sql = (
        f"SELECT a.record_id, a.other_record_id, a.labels FROM associations AS a{join_a}{join_b}"
        f" WHERE {cond_a} AND {cond_b}"
    )
    params = {"values": records_param, "others": others_param}
    return {(a, b): labels_of(labels) for a, b, labels in _rows(conn, sql, params)}


def reserve_ids(conn: Connection, n: int) -> list[int]:
    """``n`` fresh record ids. Called under the partition's write lock."""
    return bulk.reserve_ids(conn, "records", n)


def count_live(conn: Connection, ids: Sequence[int]) -> int:
    """How many of ``ids`` are records that exist and are not archived."""
    probed, param = _probe(
        conn,
        "SELECT r.id FROM records AS r WHERE r.archived_at IS NULL",
        "r.id",
        sorted(set(ids)),
        "bigint",
    )
    return int(_rows(conn, f"SELECT count(*) FROM ({probed}) AS live", {"values": param})[0][0])


#: a record as the hot writes take it: (id, ext_id, attributes as JSON text)
RecordRow = tuple[int, str | None, str]


def insert_records(
    conn: Connection, account_id: int, type_id: int, rows: list[RecordRow], at: datetime
) -> None:
    """New records of one type, their attributes already JSON text (written as they are)."""
    if not rows:
        return
    bulk.write(
        conn,
        "INSERT INTO records (id, account_id, object_type_id, ext_id, attributes, created_at,"
        f" updated_at) SELECT {_c(0)}, :account, :type, {_c(1)}, {_c(2)}, :at, :at"
        " FROM json_each(:rows)",
        rows,
        "INSERT INTO records (id, account_id, object_type_id, ext_id, attributes, created_at,"
        " updated_at) SELECT t.id, %(account)s, %(type)s, t.ext_id, t.attributes,"
        " %(at)s, %(at)s FROM jsonb_to_recordset(%(rows)s::jsonb) AS t(id bigint,"
        " ext_id text, attributes jsonb)",
        lambda: [
            {"id": rid, "ext_id": ext, "attributes": bulk.raw(attrs)} for rid, ext, attrs in rows
        ],
        at,
        account=account_id,
        type=type_id,
    )


def release_ext_ids(conn: Connection, ids: Sequence[int]) -> None:
    """Clear the ext_id of these records (before the batch gives them their new ones)."""
    if not ids:
        return
    if bulk.is_pg(conn):
        sql = (
            "UPDATE records SET ext_id = NULL FROM unnest(%(values)s::bigint[]) AS k(key)"
            " WHERE records.id = k.key"
        )
        conn.exec_driver_sql(sql, {"values": list(ids)})
        return
    _, condition, param = _one_of(conn, "id", list(ids), "bigint")
    conn.exec_driver_sql(f"UPDATE records SET ext_id = NULL WHERE {condition}", {"values": param})


def update_records(conn: Connection, rows: list[RecordRow], at: datetime) -> None:
    """Set the attributes (JSON text) and ext_id of records; un-archives them."""
    if not rows:
        return
    ts = bulk.timestamp(at)
    bulk.write(
        conn,
        "UPDATE records SET attributes = ?, ext_id = ?, updated_at = ?, archived_at = NULL"
        " WHERE id = ?",
        lambda: [(attrs, ext, ts, rid) for rid, ext, attrs in rows],
        "UPDATE records AS r SET attributes = t.attributes, ext_id = t.ext_id,"
        " updated_at = %(at)s, archived_at = NULL"
        " FROM jsonb_to_recordset(%(rows)s::jsonb) AS t(id bigint, attributes jsonb, ext_id text)"
        " WHERE r.id = t.id",
        lambda: [
            {"id": rid, "ext_id": ext, "attributes": bulk.raw(attrs)} for rid, ext, attrs in rows
        ],
        at,
        per_row=True,
    )


def delete_identifiers(conn: Connection, type_id: int, pairs: list[tuple[str, str]]) -> None:
    if pairs:
        conn.execute(
            identifiers.delete().where(
                identifiers.c.object_type_id == type_id,
                identifiers.c.kind == sa.bindparam("_kind"),
                identifiers.c.value == sa.bindparam("_value"),
            ),
            [{"_kind": k, "_value": v} for k, v in pairs],
        )


#: an identifier as the hot writes take it: (kind, normalised value, record id)
IdentifierRow = tuple[str, str, int]


def insert_identifiers(
    conn: Connection, account_id: int, type_id: int, rows: list[IdentifierRow]
) -> None:
    """Identifier values of records of one type."""
    if not rows:
        return
    bulk.write(
        conn,
        "INSERT INTO identifiers (object_type_id, kind, value, record_id, account_id)"
        f" SELECT :type, {_c(0)}, {_c(1)}, {_c(2)}, :account FROM json_each(:rows)",
        rows,
        "INSERT INTO identifiers (object_type_id, kind, value, record_id, account_id)"
        " SELECT %(type)s, t.kind, t.value, t.record_id, %(account)s"
        " FROM jsonb_to_recordset(%(rows)s::jsonb) AS t(kind text, value text, record_id bigint)",
        lambda: [{"kind": kind, "value": value, "record_id": rid} for kind, value, rid in rows],
        account=account_id,
        type=type_id,
    )


#: a change as the hot writes take it: (record id, process id, the attributes it set as JSON)
ChangeRow = tuple[int, int | None, str]


def insert_history(conn: Connection, account_id: int, rows: list[ChangeRow], at: datetime) -> None:
    """One row per change of a record (its attributes already JSON text)."""
    if not rows:
        return
    ts = bulk.timestamp(at)
    bulk.write(
        conn,
        "INSERT INTO record_history (account_id, record_id, process_id, changed_at, changes)"
        " VALUES (?, ?, ?, ?, ?)",
        lambda: [(account_id, rid, pid, ts, changes) for rid, pid, changes in rows],
        "INSERT INTO record_history (account_id, record_id, process_id, changed_at, changes)"
        " SELECT %(account)s, t.record_id, t.process_id, %(at)s, t.changes"
        " FROM jsonb_to_recordset(%(rows)s::jsonb) AS t(record_id bigint, process_id bigint,"
        " changes jsonb)",
        lambda: [
            {"record_id": rid, "process_id": pid, "changes": bulk.raw(c)} for rid, pid, c in rows
        ],
        at,
        per_row=True,
        account=account_id,
    )


def link(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert links (both directions given by the caller); existing ones are left alone."""
    if not rows:
        return
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(
        associations
    )
    conn.execute(insert.on_conflict_do_nothing(), rows)


def relabel(conn: Connection, pairs: list[tuple[int, int, frozenset[int]]]) -> None:
    """Set the labels of existing links (both directions)."""
    if not pairs:
        return
    rows = [{"_a": a, "_b": b, "_l": labels_text(ls)} for a, b, ls in pairs]
    rows += [{"_a": b, "_b": a, "_l": labels_text(ls)} for a, b, ls in pairs]
    conn.execute(
        associations.update()
        .where(
            associations.c.record_id == sa.bindparam("_a"),
            associations.c.other_record_id == sa.bindparam("_b"),
        )
        .values(labels=sa.bindparam("_l")),
        rows,
    )


def unlink(conn: Connection, pairs: list[tuple[int, int]]) -> None:
    """Remove links in both directions."""
    if not pairs:
        return
    both = [{"_a": a, "_b": b} for a, b in pairs] + [{"_a": b, "_b": a} for a, b in pairs]
    conn.execute(
        associations.delete().where(
            associations.c.record_id == sa.bindparam("_a"),
            associations.c.other_record_id == sa.bindparam("_b"),
        ),
        both,
    )


def delete_records(conn: Connection, type_id: int, ids: Sequence[int]) -> None:
    """Delete records with their links, identifiers, history and (contacts) list memberships."""
    for part in _chunks(list(ids)):
        conn.execute(list_members.delete().where(list_members.c.contact_id.in_(part)))
        conn.execute(
            associations.delete().where(
                sa.or_(associations.c.record_id.in_(part), associations.c.other_record_id.in_(part))
            )
        )
        conn.execute(
            identifiers.delete().where(
                identifiers.c.object_type_id == type_id, identifiers.c.record_id.in_(part)
            )
        )
        conn.execute(record_history.delete().where(record_history.c.record_id.in_(part)))
        conn.execute(records.delete().where(records.c.id.in_(part)))


# ---- reads -----------------------------------------------------------------------------------


#: what reads show of a record
_SHOWN = (
    records.c.id,
    records.c.ext_id,
    records.c.attributes,
    records.c.created_at,
    records.c.updated_at,
)


def count(conn: Connection, type_id: int) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(records)
            .where(records.c.object_type_id == type_id, records.c.archived_at.is_(None))
        ).scalar_one()
    )


def page(conn: Connection, type_id: int, *, limit: int, offset: int, descending: bool) -> list[Any]:
    order = records.c.id.desc() if descending else records.c.id.asc()
    return list(
        conn.execute(
            sa.select(*_SHOWN)
            .where(records.c.object_type_id == type_id, records.c.archived_at.is_(None))
            .order_by(order)
            .limit(limit)
            .offset(offset)
        ).all()
    )


def linked_ids(
    conn: Connection, record_ids: Sequence[int], *, per_type: int | None = None
) -> dict[int, dict[int, list[int]]]:
    """record id → other type id → linked record ids (lowest first, at most ``per_type``)."""
    out: dict[int, dict[int, list[int]]] = {}
    for part in _chunks(sorted(set(record_ids))):
        rows = conn.execute(
            sa.select(
                associations.c.record_id,
                associations.c.other_type_id,
                associations.c.other_record_id,
            )
            .join(records, records.c.id == associations.c.other_record_id)
            .where(associations.c.record_id.in_(part), records.c.archived_at.is_(None))
            .order_by(
                associations.c.record_id,
                associations.c.other_type_id,
                associations.c.other_record_id,
            )
        )
        for r in rows:
            ids = out.setdefault(r.record_id, {}).setdefault(r.other_type_id, [])
            if per_type is None or len(ids) < per_type:
                ids.append(r.other_record_id)
    return out


def linked_page(
    conn: Connection, record_id: int, type_ids: Sequence[int], *, limit: int, offset: int
) -> list[Any]:
    """Records linked to ``record_id`` whose type is in ``type_ids``, by type then id."""
    return list(
        conn.execute(
            sa.select(
                associations.c.other_type_id,
                records.c.id,
                records.c.ext_id,
                records.c.attributes,
                records.c.created_at,
                records.c.updated_at,
            )
            .join(records, records.c.id == associations.c.other_record_id)
            .where(
                associations.c.record_id == record_id,
                associations.c.other_type_id.in_(list(type_ids)),
                records.c.archived_at.is_(None),
            )
            .order_by(associations.c.other_type_id, records.c.id)
            .limit(limit)
            .offset(offset)
        ).all()
    )


def get(conn: Connection, type_id: int, record_id: int) -> RowMapping | None:
    """One live record with its timestamps."""
    return (
        conn.execute(
            sa.select(*_SHOWN).where(
                records.c.object_type_id == type_id,
                records.c.id == record_id,
                records.c.archived_at.is_(None),
            )
        )
        .mappings()
        .first()
    )


def archive(conn: Connection, type_id: int, ids: Sequence[int], at: datetime) -> None:
    """Archive the live records among ``ids`` (of type ``type_id``)."""
    for part in _chunks(list(ids)):
        conn.execute(
            records.update()
            .where(
                records.c.object_type_id == type_id,
                records.c.id.in_(part),
                records.c.archived_at.is_(None),
            )
            .values(archived_at=at)
        )


def get_many(
    conn: Connection, type_id: int, ids: Sequence[int], *, archived: bool | None = False
) -> list[Any]:
    """Records of a type by id, with timestamps; ``archived``: False live only, True archived
    only, None both. One statement, one index probe per id."""
    if not ids:
        return []
    flag = {None: "", False: " AND r.archived_at IS NULL", True: " AND r.archived_at IS NOT NULL"}
    select = (
        "SELECT r.id, r.ext_id, r.attributes, r.created_at, r.updated_at, r.archived_at"
        f" FROM records AS r WHERE r.object_type_id = {_param(conn, 'type_id')}{flag[archived]}"
    )
    sql, param = _probe(conn, select, "r.id", sorted(set(ids)), "bigint")
    out = []
    for rid, ext, attrs, created, updated, archived_at in _rows(
        conn, sql, {"type_id": type_id, "values": param}
    ):
        out.append(
            _Full(
                rid,
                ext,
                orjson.loads(attrs) if isinstance(attrs, str) else attrs,
                bulk.moment(created),
                bulk.moment(updated),
                bulk.moment(archived_at),
            )
        )
    return out


class _Full(NamedTuple):
    id: int
    ext_id: str | None
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None


def after(
    conn: Connection, type_id: int, *, after_id: int, limit: int, archived: bool
) -> list[RowMapping]:
    """Records of a type with an id above ``after_id``, lowest first (cursor paging)."""
    flag = records.c.archived_at.isnot(None) if archived else records.c.archived_at.is_(None)
    return list(
        conn.execute(
            sa.select(*_SHOWN, records.c.archived_at)
            .where(records.c.object_type_id == type_id, records.c.id > after_id, flag)
            .order_by(records.c.id)
            .limit(limit)
        ).mappings()
    )


def history(conn: Connection, record_ids: Sequence[int]) -> dict[int, list[tuple[datetime, Any]]]:
    """record id → its changes ``(changed_at, {attribute: value})``, newest first."""
    out: dict[int, list[tuple[datetime, Any]]] = {}
    for part in _chunks(sorted(set(record_ids))):
        rows = conn.execute(
            sa.select(
                record_history.c.record_id, record_history.c.changed_at, record_history.c.changes
            )
            .where(record_history.c.record_id.in_(part))
            .order_by(record_history.c.record_id, record_history.c.id.desc())
        )
        for rid, at, changes in rows:
            out.setdefault(rid, []).append((at, changes))
    return out


def strip_label(conn: Connection, account_id: int, label_id: int) -> int:
    """Take a label off every link that carries it (the links stay); how many links it was on."""
    text = str(label_id)
    candidates = conn.execute(
        sa.select(associations.c.record_id, associations.c.other_record_id, associations.c.labels)
        .where(associations.c.account_id == account_id, associations.c.labels.contains(text))
        .order_by(associations.c.record_id, associations.c.other_record_id)
    ).all()
    changed = [
        (a, b, labels_of(ls) - {label_id})
        for a, b, ls in candidates
        if a < b and label_id in labels_of(ls)
    ]
    relabel(conn, changed)
    return len(changed)


class Link(NamedTuple):
    record_id: int
    other_id: int
    labels: frozenset[int]


def links_from(
    conn: Connection, starts: Sequence[tuple[int, int]], other_type_id: int, *, limit: int
) -> list[Link]:
    """For each (record, after): its live links to records of one type, by other id, past
    ``after``, at most ``limit``."""
    out: list[Link] = []
    for record_id, after in starts:
        rows = conn.execute(
            sa.select(associations.c.other_record_id, associations.c.labels)
            .join(records, records.c.id == associations.c.other_record_id)
            .where(
                associations.c.record_id == record_id,
                associations.c.other_type_id == other_type_id,
                associations.c.other_record_id > after,
                records.c.archived_at.is_(None),
            )
            .order_by(associations.c.other_record_id)
            .limit(limit)
        )
        out += [Link(record_id, other, labels_of(ls)) for other, ls in rows]
    return out


def type_of(conn: Connection, account_id: int, record_id: int) -> int | None:
    """The type of a live record of the account (``None``: no such record there)."""
    value = conn.execute(
        sa.select(records.c.object_type_id).where(
            records.c.id == record_id,
            records.c.account_id == account_id,
            records.c.archived_at.is_(None),
        )
    ).scalar()
    return int(value) if value is not None else None


def changes_of(conn: Connection, record_id: int, *, limit: int) -> list[RowMapping]:
    """A record's latest ``limit`` changes, newest first: when, by which process, what."""
    return list(
        conn.execute(
            sa.select(
                record_history.c.id,
                record_history.c.changed_at,
                record_history.c.process_id,
                record_history.c.changes,
            )
            .where(record_history.c.record_id == record_id)
            .order_by(record_history.c.id.desc())
            .limit(limit)
        ).mappings()
    )
