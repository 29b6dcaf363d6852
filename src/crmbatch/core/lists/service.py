"""Contact lists and the folders they are filed in: create, read, rename, move, delete.

Every list is in a folder (Brevo's rule); a list made without one goes into the account's first
folder, made as "Your first folder" when the account has none. Contacts join and leave lists
through contact batches (the engine), so that membership changes apply in order with every other
change to the account's contacts.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection, RowMapping

from crmbatch.core import clock
from crmbatch.core.errors import CrmError, NotFound, Unprocessable
from crmbatch.core.lists import store

MAX_NAME = 255
DEFAULT_FOLDER = "Your first folder"


def _name(value: Any, field: str = "name") -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME or "\x00" in value:
        raise CrmError(f"{field}: 1 to {MAX_NAME} characters", field=field)
    return value.strip()


def _out(row: RowMapping) -> dict[str, Any]:
    """A list as the native API shows it."""
    return {
        "id": row["uuid"],
        "list_id": row["id"],
        "name": row["name"],
        "folder_id": row["folder_id"],
        "members": int(row["members"]),
        "created_at": clock.iso(row["created_at"]),
    }


def summary(row: RowMapping) -> dict[str, Any]:
    """A list with its counts (what Brevo's list answers are made of)."""
    return {
        "id": int(row["id"]),
        "uuid": row["uuid"],
        "name": row["name"],
        "folder_id": row["folder_id"],
        "members": int(row["members"]),
        "blacklisted": int(row.get("blacklisted") or 0),
        "created_at": row["created_at"],
    }


# -- folders -----------------------------------------------------------------------------------


def default_folder(conn: Connection, account_id: int) -> int:
    """The folder a list goes into when none is named (made when the account has none)."""
    found = store.first_folder(conn, account_id)
    if found is not None:
        return int(found)
    return store.insert_folder(conn, account_id, DEFAULT_FOLDER, clock.now())


def _folder_out(row: RowMapping) -> dict[str, Any]:
    return {
        "id": int(row["id"]),
        "name": row["name"],
        "members": int(row["members"]),
        "unique_members": int(row["unique_members"]),
        "blacklisted": int(row["blacklisted"]),
        "created_at": row["created_at"],
    }


def get_folder(conn: Connection, account_id: int, folder_id: int) -> dict[str, Any]:
    row = store.folder(conn, account_id, folder_id)
    if row is None:
        raise NotFound(f"Folder ID {folder_id} does not exist", field="folderId")
    return _folder_out(row)


def check_folder(conn: Connection, account_id: int, folder_id: int) -> None:
    """A folder a request names exists, or :class:`Unprocessable` says it does not."""
    if store.folder(conn, account_id, folder_id) is None:
        raise Unprocessable(f"Folder ID {folder_id} does not exist", field="folderId")


def create_folder(conn: Connection, account_id: int, name: Any) -> int:
    return store.insert_folder(conn, account_id, _name(name), clock.now())


def rename_folder(conn: Connection, account_id: int, folder_id: int, name: Any) -> None:
    get_folder(conn, account_id, folder_id)
    store.rename_folder(conn, folder_id, _name(name))


def delete_folder(conn: Connection, account_id: int, folder_id: int) -> None:
    """Delete a folder and every list in it (their members stay contacts)."""
    get_folder(conn, account_id, folder_id)
    store.delete_folder(conn, folder_id)


def folders_page(
    conn: Connection, account_id: int, *, limit: int, offset: int, descending: bool
) -> tuple[int, list[dict[str, Any]]]:
    total, rows = store.folder_page(
        conn, account_id, limit=limit, offset=offset, descending=descending
    )
    return total, [_folder_out(r) for r in rows]


# -- lists -------------------------------------------------------------------------------------


def create(
    conn: Connection, account_id: int, name: Any, folder_id: int | None = None
) -> dict[str, Any]:
    """A new list (in ``folder_id``, else the default folder), as the native API shows it."""
    clean = _name(name)
    if folder_id is None:
        folder_id = default_folder(conn, account_id)
    else:
        check_folder(conn, account_id, folder_id)
    ident = str(uuid.uuid4())
    store.insert(conn, account_id, ident, clean, clock.now(), folder_id)
    return get(conn, account_id, ident)


def get(conn: Connection, account_id: int, list_uuid: str) -> dict[str, Any]:
    row = store.by_uuid(conn, account_id, list_uuid)
    if row is None:
        raise NotFound(f"no list has id {list_uuid!r}", field="id")
    return _out(row)


def get_by_id(conn: Connection, account_id: int, list_id: int) -> dict[str, Any]:
    """A list by its integer id, with its counts."""
    row = store.by_id(conn, account_id, list_id)
    if row is None:
        raise NotFound(f"List ID {list_id} does not exist", field="listId")
    return summary(row)


def update(
    conn: Connection,
    account_id: int,
    list_id: int,
    *,
    name: Any = None,
    folder_id: int | None = None,
) -> None:
    """Rename a list or move it to another folder (at least one of them)."""
    get_by_id(conn, account_id, list_id)
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = _name(name)
    if folder_id is not None:
        check_folder(conn, account_id, folder_id)
        values["folder_id"] = folder_id
    if not values:
        raise CrmError("give a name or a folderId to change", field="name")
    store.update(conn, list_id, **values)


def delete(conn: Connection, account_id: int, list_id: int) -> None:
    """Delete a list; its members stay contacts."""
    get_by_id(conn, account_id, list_id)
    store.delete(conn, [list_id])


def page(
    conn: Connection,
    account_id: int,
    *,
    limit: int,
    offset: int,
    descending: bool,
    folder_id: int | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    if folder_id is not None:
        get_folder(conn, account_id, folder_id)
    total, rows = store.page(
        conn, account_id, limit=limit, offset=offset, descending=descending, folder_id=folder_id
    )
    return total, [summary(r) for r in rows]


def all_of(conn: Connection, account_id: int) -> list[dict[str, Any]]:
    return [_out(r) for r in store.all_of(conn, account_id)]


def of_contact(conn: Connection, contact_id: int) -> list[int]:
    """The (Brevo, integer) ids of the lists a contact belongs to."""
    return store.ids_of_contacts(conn, [contact_id]).get(contact_id, [])


def member_ids(
    conn: Connection,
    account_id: int,
    list_id: int,
    *,
    limit: int,
    offset: int,
    descending: bool,
    modified_since: datetime | None = None,
) -> tuple[int, list[int]]:
    """(how many members, the contact ids of one page of them)."""
    get_by_id(conn, account_id, list_id)
    return store.members(
        conn,
        list_id,
        limit=limit,
        offset=offset,
        descending=descending,
        modified_since=modified_since,
    )


def members_among(conn: Connection, list_id: int, contact_ids: list[int]) -> set[int]:
    """Those of ``contact_ids`` that are members of the list."""
    return store.members_among(conn, list_id, contact_ids)


def check_exist(conn: Connection, account_id: int, list_ids: list[int], *, field: str) -> None:
    """Every list of ``list_ids`` exists in this account, or :class:`NotFound` names one."""
    missing = sorted(set(list_ids) - set(store.existing(conn, account_id, list_ids)))
    if missing:
        raise NotFound(f"List ID {missing[0]} does not exist", field=field)
