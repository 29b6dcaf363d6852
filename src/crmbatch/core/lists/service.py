"""Contact lists: create and read them. Contacts join lists through contact batches."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.engine import Connection, RowMapping

from crmbatch.core import clock
from crmbatch.core.errors import CrmError, NotFound
from crmbatch.core.lists import store

MAX_NAME = 255


def _out(row: RowMapping) -> dict[str, Any]:
    return {
        "id": row["uuid"],
        "list_id": row["id"],
        "name": row["name"],
        "members": int(row["members"]),
        "created_at": clock.iso(row["created_at"]),
    }


def create(conn: Connection, account_id: int, name: Any) -> dict[str, Any]:
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME or "\x00" in name:
        raise CrmError(f"name: 1 to {MAX_NAME} characters", field="name")
    ident = str(uuid.uuid4())
    store.insert(conn, account_id, ident, name.strip(), clock.now())
    return get(conn, account_id, ident)


def get(conn: Connection, account_id: int, list_uuid: str) -> dict[str, Any]:
    row = store.by_uuid(conn, account_id, list_uuid)
    if row is None:
        raise NotFound(f"no list has id {list_uuid!r}", field="id")
    return _out(row)


def all_of(conn: Connection, account_id: int) -> list[dict[str, Any]]:
    return [_out(r) for r in store.all_of(conn, account_id)]


def of_contact(conn: Connection, contact_id: int) -> list[int]:
    """The (Brevo, integer) ids of the lists a contact belongs to."""
    return store.ids_of_contacts(conn, [contact_id]).get(contact_id, [])
