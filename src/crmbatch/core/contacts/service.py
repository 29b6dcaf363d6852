"""Read contacts: find one by any of its identifiers, show it with its recent events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection

from crmbatch.core import clock
from crmbatch.core.contacts.identity import KINDS
from crmbatch.core.errors import CrmError, InvalidInput, NotFound
from crmbatch.core.events import service as events
from crmbatch.core.lists import service as lists
from crmbatch.core.lists import store as lists_store
from crmbatch.core.records import store as records_store
from crmbatch.core.schema import service as schemas
from crmbatch.core.schema.model import CONTACT_CHANNELS, CONTACT_OPT_INS, AccountSchema
from crmbatch.core.search import service as search
from crmbatch.core.values import ValueProblem, email, ext_id, identifier_of, phone

CONTACT = "contact"


def normalise(kind: str, value: Any) -> Any:
    """An identifier as the engine stores it; raises :class:`CrmError` when it cannot be one."""
    try:
        if kind == "id":
            if isinstance(value, str) and value.isdigit() and len(value) <= 18:
                return int(value)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
            raise ValueProblem(f"expected a contact id, got {value!r}")
        if kind == "EMAIL":
            return email(value)
        if kind == "ext_id":
            if isinstance(value, str) and 0 < len(value) <= 255:
                return ext_id(value)
            raise ValueProblem(f"expected an ext_id of 1 to 255 characters, got {value!r}")
        if kind in CONTACT_CHANNELS:
            return phone(value)
    except ValueProblem as e:
        raise CrmError(str(e), field="identifier") from None
    raise CrmError(f"unknown identifier type {kind!r}; use one of {', '.join(KINDS)}")


def _find(conn: Connection, schema: AccountSchema, kind: str, value: Any) -> Any:
    """The live contact that ``kind`` = ``value`` names (its row), or :class:`NotFound`."""
    t = schema.types[CONTACT]
    value = normalise(kind, value)
    rid: int | None
    if kind == "id":
        rid = value
    elif kind == "ext_id":
        found = records_store.fetch(conn, t.id, ext_ids=[value])
        rid = found[0][0] if found else None
    else:
        pairs = records_store.lookup_identifiers(
            conn, t.id, [(schemas.unique_kind(kind), identifier_of(t.attributes.get(kind), value))]
        )
        rid = next(iter(pairs.values()), None)
    row = None if rid is None else records_store.get(conn, t.id, rid)
    if row is None:
        raise NotFound("Contact does not exist", field="identifier")
    return row


def find_ids(
    conn: Connection,
    schema: AccountSchema,
    named: list[tuple[str, Any]],
    *,
    where: Callable[[int], str] = lambda i: f"contacts[{i}]",
) -> list[int | None]:
    """The live contact each ``(kind, value)`` names, or ``None``: one statement per kind,
    whatever their number. A value that cannot be an identifier is refused, named by ``where``."""
    t = schema.types[CONTACT]
    clean: list[tuple[str, Any]] = []
    problems: list[tuple[str, str]] = []
    for i, (kind, value) in enumerate(named):
        try:
            clean.append((kind, normalise(kind, value)))
        except CrmError as e:
            problems.append((f"{where(i)}.{kind}", e.message))
    if problems:
        raise InvalidInput(problems)
    ids = [v for k, v in clean if k == "id"]
    exts = [v for k, v in clean if k == "ext_id"]
    pairs = [
        (schemas.unique_kind(k), identifier_of(t.attributes.get(k), v))
        for k, v in clean
        if k not in ("id", "ext_id")
    ]
    live = {r.id for r in records_store.get_many(conn, t.id, ids)}
    by_ext = {
        ext: rid
        for rid, ext, _, archived in records_store.fetch(conn, t.id, ext_ids=exts)
        if not archived
    }
    owners = records_store.lookup_identifiers(conn, t.id, pairs)
    found: list[int | None] = []
    for kind, value in clean:
        if kind == "id":
            found.append(value if value in live else None)
        elif kind == "ext_id":
            found.append(by_ext.get(value))
        else:
            found.append(
                owners.get(
                    (schemas.unique_kind(kind), identifier_of(t.attributes.get(kind), value))
                )
            )
    return found


def find_id(conn: Connection, schema: AccountSchema, kind: str, value: Any) -> int:
    """The id of the live contact that ``kind`` = ``value`` names, or :class:`NotFound`."""
    return int(_find(conn, schema, kind, value).id)


def shaped(row: Any, list_ids: list[int]) -> dict[str, Any]:
    """A contact record as the engine shows contacts: id, ext_id, channels, opt-ins, the other
    attributes, lists and timestamps."""
    attrs = dict(row["attributes"])
    return {
        "id": row["id"],
        "ext_id": row["ext_id"],
        "channels": {key: attrs.pop(key, None) for key in CONTACT_CHANNELS},
        "opt_ins": {key: attrs.pop(key, None) for key in CONTACT_OPT_INS},
        "attributes": attrs,
        "list_ids": list_ids,
        "created_at": clock.iso(row["created_at"]),
        "updated_at": clock.iso(row["updated_at"]),
    }


def get(
    conn: Connection, account_id: int, kind: str, value: Any, *, recent_events: int = 0
) -> dict[str, Any]:
    """A contact: id, ext_id, channels, opt-ins, attributes, lists, timestamps (and its latest
    events)."""
    row = _find(conn, schemas.load(conn, account_id), kind, value)
    contact = shaped(row, lists.of_contact(conn, row.id))
    if recent_events:
        contact["events"] = events.latest_for_contact(conn, account_id, row.id, recent_events)
    return contact


def by_ids(conn: Connection, schema: AccountSchema, ids: list[int]) -> list[dict[str, Any]]:
    """The live contacts among ``ids``, in that order, shaped (one statement each way)."""
    t = schema.types[CONTACT]
    rows = {r.id: r._asdict() for r in records_store.get_many(conn, t.id, ids)}
    memberships = lists_store.ids_of_contacts(conn, list(rows))
    return [shaped(rows[i], memberships.get(i, [])) for i in ids if i in rows]


def page(
    conn: Connection,
    account_id: int,
    query: search.Query,
    *,
    members_of: list[int] | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """(how many contacts match, one page of them shaped), filtered and sorted by ``query``."""
    schema = schemas.load(conn, account_id)
    total, rows = search.listing(conn, schema.types[CONTACT], query, members_of=members_of)
    memberships = lists_store.ids_of_contacts(conn, [r["id"] for r in rows])
    return total, [shaped(r, memberships.get(r["id"], [])) for r in rows]
