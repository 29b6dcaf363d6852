"""SQL for contact lists and their members."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, RowMapping

from crmbatch.db.bulk import is_pg
from crmbatch.db.tables import list_members, lists

_MEMBERS = (
    sa.select(sa.func.count())
    .select_from(list_members)
    .where(list_members.c.list_id == lists.c.id)
    .scalar_subquery()
)
_COLUMNS = (lists.c.id, lists.c.uuid, lists.c.name, lists.c.created_at, _MEMBERS.label("members"))


def insert(conn: Connection, account_id: int, uuid: str, name: str, at: datetime) -> None:
    conn.execute(lists.insert().values(account_id=account_id, uuid=uuid, name=name, created_at=at))


def by_uuid(conn: Connection, account_id: int, uuid: str) -> RowMapping | None:
    return (
        conn.execute(
            sa.select(*_COLUMNS).where(lists.c.account_id == account_id, lists.c.uuid == uuid)
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


def add_members(
    conn: Connection, account_id: int, pairs: Sequence[tuple[int, int]], at: datetime
) -> None:
    """Put each contact in its list, ``(list id, contact id)``; a member already there stays."""
    if not pairs:
        return
    insert = (postgresql.insert if is_pg(conn) else sqlite.insert)(list_members)
    conn.execute(
        insert.on_conflict_do_nothing(index_elements=["list_id", "contact_id"]),
        [
            {"list_id": lid, "contact_id": cid, "account_id": account_id, "added_at": at}
            for lid, cid in dict.fromkeys(pairs)
        ],
    )
