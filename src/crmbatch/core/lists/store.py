"""SQL for contact lists, their folders and their members."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from crmbatch.db import bulk
from crmbatch.db.bulk import is_pg
from crmbatch.db.tables import folders, list_members, lists, records

_MEMBERS = (
    sa.select(sa.func.count())
    .select_from(list_members)
    .where(list_members.c.list_id == lists.c.id)
    .scalar_subquery()
)
_COLUMNS = (
    lists.c.id,
    lists.c.uuid,
    lists.c.name,
    lists.c.created_at,
    lists.c.folder_id,
    _MEMBERS.label("members"),
)


def _opted_out(conn: Connection) -> Any:
    """True for a contact whose email opt-in is an explicit ``false`` (Brevo's blacklisted)."""
    if is_pg(conn):
        return sa.literal_column("(records.attributes ->> 'EMAIL_OPT_IN')") == "false"
    return sa.literal_column("json_extract(records.attributes, '$.EMAIL_OPT_IN')") == 0


def _blacklisted(conn: Connection, member_of: Any) -> Any:
    """How many members of the list(s) ``member_of`` selects are opted out of email."""
    return (
        sa.select(sa.func.count())
        .select_from(list_members.join(records, records.c.id == list_members.c.contact_id))
        .where(member_of, _opted_out(conn))
        .scalar_subquery()
    )


# -- lists -------------------------------------------------------------------------------------


def insert(
    conn: Connection, account_id: int, uuid: str, name: str, at: datetime, folder_id: int
) -> int:
    return int(
        conn.execute(
            lists.insert()
            .values(account_id=account_id, uuid=uuid, name=name, created_at=at, folder_id=folder_id)
            .returning(lists.c.id)
        ).scalar_one()
    )


def by_uuid(conn: Connection, account_id: int, uuid: str) -> RowMapping | None:
    return (
        conn.execute(
            sa.select(*_COLUMNS).where(lists.c.account_id == account_id, lists.c.uuid == uuid)
        )
        .mappings()
        .first()
    )


def by_id(conn: Connection, account_id: int, list_id: int) -> RowMapping | None:
    """A list with its member count and how many of them are opted out of email."""
    blacklisted = _blacklisted(conn, list_members.c.list_id == lists.c.id)
    return (
        conn.execute(
            sa.select(*_COLUMNS, blacklisted.label("blacklisted")).where(
                lists.c.account_id == account_id, lists.c.id == list_id
            )
        )
        .mappings()
        .first()
    )


def all_of(conn: Connection, account_id: int) -> list[RowMapping]:
    return list(
        conn.execute(
            sa.select(*_COLUMNS).where(lists.c.account_id == account_id).order_by(lists.c.id)
        ).mappings()
    )


def page(
    conn: Connection,
    account_id: int,
    *,
    limit: int,
    offset: int,
    descending: bool,
    folder_id: int | None = None,
) -> tuple[int, list[RowMapping]]:
    """(how many lists, one page of them with their counts), by id."""
    where = [lists.c.account_id == account_id]
    if folder_id is not None:
        where.append(lists.c.folder_id == folder_id)
    total = conn.execute(sa.select(sa.func.count()).select_from(lists).where(*where)).scalar_one()
    blacklisted = _blacklisted(conn, list_members.c.list_id == lists.c.id)
    order = lists.c.id.desc() if descending else lists.c.id.asc()
    rows = conn.execute(
        sa.select(*_COLUMNS, blacklisted.label("blacklisted"))
        .where(*where)
        .order_by(order)
        .limit(limit)
        .offset(offset)
    ).mappings()
    return int(total), list(rows)


def update(conn: Connection, list_id: int, **values: Any) -> None:
    conn.execute(lists.update().where(lists.c.id == list_id).values(**values))


def delete(conn: Connection, list_ids: Sequence[int]) -> None:
    """Delete lists and their memberships."""
    if list_ids:
        clear(conn, list_ids)
        conn.execute(lists.delete().where(lists.c.id.in_(list(list_ids))))


def existing(conn: Connection, account_id: int, list_ids: Iterable[int]) -> list[int]:
    """Those of ``list_ids`` that are lists of this account."""
    wanted = sorted(set(list_ids))
    if not wanted:
        return []
    rows = conn.execute(
        sa.select(lists.c.id).where(lists.c.account_id == account_id, lists.c.id.in_(wanted))
    )
    return [int(i) for (i,) in rows]


def ids_of_contacts(conn: Connection, contact_ids: Sequence[int]) -> dict[int, list[int]]:
    """contact id → the ids of the lists it belongs to, lowest first."""
    out: dict[int, list[int]] = {}
    if not contact_ids:
        return out
    rows = conn.execute(
        sa.select(list_members.c.contact_id, list_members.c.list_id)
        .where(list_members.c.contact_id.in_(list(contact_ids)))
        .order_by(list_members.c.contact_id, list_members.c.list_id)
    )
    for contact_id, list_id in rows:
        out.setdefault(contact_id, []).append(list_id)
    return out


def by_uuids(conn: Connection, account_id: int, uuids: Sequence[str]) -> dict[str, int]:
    """list uuid → its (integer) id, for the lists of this account among ``uuids``."""
    if not uuids:
        return {}
    rows = conn.execute(
        sa.select(lists.c.uuid, lists.c.id).where(
            lists.c.account_id == account_id, lists.c.uuid.in_(list(uuids))
        )
    )
    return {u: int(i) for u, i in rows}


# -- members -----------------------------------------------------------------------------------


def add_members(
    conn: Connection, account_id: int, pairs: Sequence[tuple[int, int]], at: datetime
) -> None:
    """Put each contact in its list, ``(list id, contact id)``; a member already there stays.
    One statement, whatever the number (an import joins every row to its lists)."""
    if not pairs:
        return
    rows = list(dict.fromkeys(pairs))
    c = bulk.column
    bulk.write(
        conn,
        "INSERT INTO list_members (list_id, contact_id, account_id, added_at)"
        f" SELECT {c(0)}, {c(1)}, :account, :at FROM json_each(:rows) WHERE true"
        " ON CONFLICT (list_id, contact_id) DO NOTHING",
        rows,
        "INSERT INTO list_members (list_id, contact_id, account_id, added_at)"
        " SELECT t.list_id, t.contact_id, t.account_id, %(at)s"
        " FROM jsonb_to_recordset(%(rows)s::jsonb) AS t(list_id bigint, contact_id bigint,"
        " account_id bigint) ON CONFLICT (list_id, contact_id) DO NOTHING",
        lambda: [
            {"list_id": lid, "contact_id": cid, "account_id": account_id} for lid, cid in rows
        ],
        at,
        account=account_id,
    )


def remove_members(conn: Connection, pairs: Sequence[tuple[int, int]]) -> None:
    """Take each contact out of its list, ``(list id, contact id)``."""
    if pairs:
        conn.execute(
            list_members.delete().where(
                list_members.c.list_id == sa.bindparam("_list"),
                list_members.c.contact_id == sa.bindparam("_contact"),
            ),
            [{"_list": lid, "_contact": cid} for lid, cid in dict.fromkeys(pairs)],
        )


def members_among(conn: Connection, list_id: int, contact_ids: Sequence[int]) -> set[int]:
    if not contact_ids:
        return set()
    rows = conn.execute(
        sa.select(list_members.c.contact_id).where(
            list_members.c.list_id == list_id,
            list_members.c.contact_id.in_(sorted(set(contact_ids))),
        )
    )
    return {int(i) for (i,) in rows}


def clear(conn: Connection, list_ids: Sequence[int]) -> None:
    """Empty lists."""
    if list_ids:
        conn.execute(list_members.delete().where(list_members.c.list_id.in_(list(list_ids))))


def forget_contacts(conn: Connection, contact_ids: Sequence[int]) -> None:
    """Take deleted contacts out of every list."""
    if contact_ids:
        conn.execute(list_members.delete().where(list_members.c.contact_id.in_(list(contact_ids))))


def members(
    conn: Connection,
    list_id: int,
    *,
    limit: int,
    offset: int,
    descending: bool,
    modified_since: datetime | None = None,
) -> tuple[int, list[int]]:
    """(how many members, the contact ids of one page of them), newest contact first unless
    not ``descending``; ``modified_since``: contacts changed after it only."""
    query = sa.select(list_members.c.contact_id).where(list_members.c.list_id == list_id)
    if modified_since is not None:
        query = query.join(records, records.c.id == list_members.c.contact_id).where(
            records.c.updated_at > modified_since
        )
    total = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    order = list_members.c.contact_id.desc() if descending else list_members.c.contact_id.asc()
    ids = conn.execute(query.order_by(order).limit(limit).offset(offset)).scalars().all()
    return int(total), [int(i) for i in ids]


# -- folders -----------------------------------------------------------------------------------


def _folder_columns(conn: Connection) -> tuple[Any, ...]:
    in_folder = list_members.c.list_id.in_(
        sa.select(lists.c.id).where(lists.c.folder_id == folders.c.id)
    )
    subscribers = (
        sa.select(sa.func.count()).select_from(list_members).where(in_folder).scalar_subquery()
    )
    unique = (
        sa.select(sa.func.count(sa.distinct(list_members.c.contact_id)))
        .where(in_folder)
        .scalar_subquery()
    )
    return (
        folders.c.id,
        folders.c.name,
        folders.c.created_at,
        subscribers.label("members"),
        unique.label("unique_members"),
        _blacklisted(conn, in_folder).label("blacklisted"),
    )


def insert_folder(conn: Connection, account_id: int, name: str, at: datetime) -> int:
    return int(
        conn.execute(
            folders.insert()
            .values(account_id=account_id, name=name, created_at=at)
            .returning(folders.c.id)
        ).scalar_one()
    )


def folder(conn: Connection, account_id: int, folder_id: int) -> RowMapping | None:
    return (
        conn.execute(
            sa.select(*_folder_columns(conn)).where(
                folders.c.account_id == account_id, folders.c.id == folder_id
            )
        )
        .mappings()
        .first()
    )


def first_folder(conn: Connection, account_id: int) -> int | None:
    return conn.execute(
        sa.select(sa.func.min(folders.c.id)).where(folders.c.account_id == account_id)
    ).scalar()


def folder_page(
    conn: Connection, account_id: int, *, limit: int, offset: int, descending: bool
) -> tuple[int, list[RowMapping]]:
    where = folders.c.account_id == account_id
    total = conn.execute(sa.select(sa.func.count()).select_from(folders).where(where)).scalar_one()
    order = folders.c.id.desc() if descending else folders.c.id.asc()
    rows = conn.execute(
        sa.select(*_folder_columns(conn)).where(where).order_by(order).limit(limit).offset(offset)
    ).mappings()
    return int(total), list(rows)


def rename_folder(conn: Connection, folder_id: int, name: str) -> None:
    conn.execute(folders.update().where(folders.c.id == folder_id).values(name=name))


def delete_folder(conn: Connection, folder_id: int) -> None:
    """Delete a folder with its lists and their memberships."""
    ids = conn.execute(sa.select(lists.c.id).where(lists.c.folder_id == folder_id)).scalars()
    delete(conn, [int(i) for i in ids])
    conn.execute(folders.delete().where(folders.c.id == folder_id))
