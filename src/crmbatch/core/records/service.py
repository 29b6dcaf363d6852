"""Accept record batches (every limit and value rule, checked before anything is stored) and read
records back. Dialects call these; they add no rule of their own."""

from __future__ import annotations

import difflib
import unicodedata
from typing import Any

from sqlalchemy.engine import Connection

from crmbatch.core import clock
from crmbatch.core.contacts import service as contacts
from crmbatch.core.errors import (
    CrmError,
    FailedDependency,
    InvalidInput,
    NotFound,
    OutOfRange,
    PermissionDenied,
)
from crmbatch.core.processes import service as processes
from crmbatch.core.records import store
from crmbatch.core.records.limits import (
    MAX_ASSOCIATION_ENTRIES,
    MAX_ATTRIBUTES,
    MAX_LINKS_PER_TYPE,
    MAX_RECORDS,
)
from crmbatch.core.records.validate import AttributeChecker, typed_check
from crmbatch.core.results import cap_warnings
from crmbatch.core.schema import service as schemas
from crmbatch.core.schema.model import RESERVED_TYPES, TYPE_NAME, AccountSchema, ObjectType
from crmbatch.core.values import ext_id as nfc
from crmbatch.core.values import identifier_of

KIND_UPSERT = "objects_upsert"
KIND_DELETE = "objects_delete"
KIND_ARCHIVE = "objects_archive"


def custom_type(
    schema: AccountSchema, name: str, *, field: str = "object_type", allow_system: bool = False
) -> ObjectType:
    """The custom object type ``name`` (or, with ``allow_system``, a system type such as
    ``contact``), or the error Brevo gives for it."""
    if not TYPE_NAME.match(name or ""):
        raise CrmError(f"invalid object_type {name!r}", field=field)
    t = schema.types.get(name)
    if allow_system and t is not None:
        return t
    if name in RESERVED_TYPES or (t is not None and t.is_system):
        raise PermissionDenied(
            f"{name!r} is a system object; this endpoint only supports custom objects", field=field
        )
    if t is None:
        raise NotFound(unknown_type(schema, name), field=field)
    return t


def unknown_type(schema: AccountSchema, name: str) -> str:
    """Why ``name`` names no object type, with the account's types and the one probably meant."""
    custom = sorted(n for n, t in schema.types.items() if not t.is_system)
    close = difflib.get_close_matches(name, custom, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    known = (
        f"this account's object types are {', '.join(custom)}{hint}"
        if custom
        else ("this account has no custom object types yet")
    )
    return (
        f"Object not found for the provided object type {name!r}: {known}; types are added "
        "with crmbatch schema apply FILE or PUT /v1/schema"
    )


def _check_count(n: int, collection: str) -> None:
    if n == 0 or n > MAX_RECORDS:
        raise OutOfRange(
            f"{collection} cannot be empty or more than {MAX_RECORDS} (got {n})", field=collection
        )


def _association_problems(where: str, c: dict[str, Any]) -> list[tuple[str, str]]:
    entries = c.get("associations") or []
    if len(entries) > MAX_ASSOCIATION_ENTRIES:
        return [
            (f"{where}.associations", f"at most {MAX_ASSOCIATION_ENTRIES} associations per record")
        ]
    per_type: dict[tuple[str, str], int] = {}
    for a in entries:
        k = (a["object_type"], a.get("action") or "link")
        per_type[k] = per_type.get(k, 0) + len(a["records"])
    return [
        (
            f"{where}.associations",
            f"at most {MAX_LINKS_PER_TYPE} {other} records to {action} per record "
            f"(got {count}); send the rest in another request",
        )
        for (other, action), count in per_type.items()
        if count > MAX_LINKS_PER_TYPE
    ]


def check_commands(
    t: ObjectType, commands: list[dict[str, Any]], *, collection: str = "records"
) -> list[dict[str, Any]]:
    """Every rule that needs no records: counts, limits, value types. Raises with all problems.

    Returns the commands with their attributes checked and normalised (unknown ones dropped) and
    the warnings about what was dropped, so the worker need not check them again while the
    type's schema is unchanged.
    """
    _check_count(len(commands), collection)
    if _plainly_valid(t, commands):
        problems = [
            found
            for i, c in enumerate(commands)
            if c.get("associations")
            for found in _association_problems(f"{collection}[{i}]", c)
        ]
        if problems:
            raise InvalidInput(problems)
        return [c if "attributes" in c else {**c, "attributes": {}} for c in commands]
    checker = AttributeChecker(t)
    problems = []
    checked: list[dict[str, Any]] = []
    for i, c in enumerate(commands):
        where = f"{collection}[{i}]"
        clean, found = _check_one(checker, c)
        problems += [(f"{where}.{field}", msg) for field, msg in found]
        if clean is not None:
            checked.append(clean)
        if len(c.get("attributes") or {}) <= MAX_ATTRIBUTES:
            problems += _association_problems(where, c)
    if problems:
        raise InvalidInput(problems)
    return checked


def _plainly_valid(t: ObjectType, commands: list[dict[str, Any]]) -> bool:
    """Every command's attributes valid as they stand (normalised in place): the typed check of
    :mod:`crmbatch.core.records.validate`, in one call for the whole batch."""
    return typed_check(t).clean([c.get("attributes") or {} for c in commands])


def upsert_submission(
    schema: AccountSchema,
    object_type: str,
    commands: list[dict[str, Any]],
    *,
    allow_system: bool = False,
    each_alone: bool = False,
    collection: str = "records",
) -> processes.Submission:
    """A batch of record commands, checked, as a process would store it.

    The batch is checked as a whole (any bad record refuses it, naming every problem), or with
    ``each_alone`` (HubSpot's 207) only its size is: each command is checked when it is
    applied and fails alone, and an attribute the type does not define fails it too.
    """
    t = custom_type(schema, object_type, allow_system=allow_system)
    commands = _nfc_ext_ids(commands)
    if each_alone:
        _check_count(len(commands), collection)
        # when every value is plainly valid the worker need not check them again; otherwise
        # each command is checked as it is applied, and fails alone
        fingerprint = t.fingerprint() if _plainly_valid(t, commands) else None
        payload = {
            "object_type": t.name,
            "fingerprint": fingerprint,
            "records": commands,
            "strict": True,
        }
    else:
        checked = check_commands(t, commands, collection=collection)
        payload = {"object_type": t.name, "fingerprint": t.fingerprint(), "records": checked}
    return processes.Submission(KIND_UPSERT, t.name, payload, len(commands))


def _nfc_ext_ids(commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The commands with every ext_id they name (their own, their links') in Unicode NFC."""
    out = []
    for c in commands:
        ext = c.get("ext_id")
        if isinstance(ext, str) and not unicodedata.is_normalized("NFC", ext):
            c = {**c, "ext_id": nfc(ext)}
        if c.get("associations"):
            c = {**c, "associations": [_nfc_links(a) for a in c["associations"]]}
        out.append(c)
    return out


def _nfc_links(entry: dict[str, Any]) -> dict[str, Any]:
    records = [
        {**r, "ext_id": nfc(r["ext_id"])} if isinstance(r.get("ext_id"), str) else r
        for r in entry.get("records") or ()
    ]
    return {**entry, "records": records}


def accept_upsert(
    conn: Connection,
    account_id: int,
    object_type: str,
    commands: list[dict[str, Any]],
    *,
    dialect: str,
    idempotency_key: str | None = None,
    digest: str | None = None,
    notify_url: str | None = None,
    allow_system: bool = False,
) -> processes.Accepted:
    """Check a batch of record commands and store it as a process."""
    submission = upsert_submission(
        schemas.load(conn, account_id), object_type, commands, allow_system=allow_system
    )
    return processes.accept(
        conn,
        account_id,
        submission,
        dialect=dialect,
        idempotency_key=idempotency_key,
        digest=digest,
        notify_url=notify_url,
    )


def _check_one(
    checker: AttributeChecker, c: dict[str, Any]
) -> tuple[dict[str, Any] | None, list[tuple[str, str]]]:
    """One command's attributes: ``(cleaned command, [])`` or ``(None, problems)``, each
    problem named by its field within the record (``attributes.year``)."""
    attrs = c.get("attributes") or {}
    if len(attrs) > MAX_ATTRIBUTES:
        return None, [("attributes", f"at most {MAX_ATTRIBUTES} attributes per record")]
    result = checker.check(attrs)
    if result.problems:
        return None, [(f"attributes.{key}", msg) for key, msg in result.problems]
    clean = {**c, "attributes": result.attributes}
    if result.warnings:
        clean["warnings"] = cap_warnings(result.warnings)
    return clean, []


def archive_submission(
    schema: AccountSchema, object_type: str, ids: list[int], *, allow_system: bool = False
) -> processes.Submission:
    t = custom_type(schema, object_type, allow_system=allow_system)
    _check_count(len(ids), "inputs")
    return processes.Submission(KIND_ARCHIVE, t.name, {"object_type": t.name, "ids": ids}, len(ids))


def delete_submission(
    schema: AccountSchema,
    object_type: str,
    *,
    ids: list[int] | None,
    ext_ids: list[str] | None,
    allow_system: bool = False,
) -> processes.Submission:
    t = custom_type(schema, object_type, allow_system=allow_system)
    if (ids is None) == (ext_ids is None):
        raise CrmError("give identifiers.ids or identifiers.ext_ids, not both", field="identifiers")
    keys: list[Any] = list(ids) if ids is not None else [nfc(e) for e in ext_ids or []]
    _check_count(len(keys), "identifiers")
    payload: dict[str, Any] = {"object_type": t.name}
    payload["ids" if ids is not None else "ext_ids"] = keys
    return processes.Submission(KIND_DELETE, t.name, payload, len(keys))


def accept_delete(
    conn: Connection,
    account_id: int,
    object_type: str,
    *,
    ids: list[int] | None,
    ext_ids: list[str] | None,
    dialect: str,
    idempotency_key: str | None = None,
    digest: str | None = None,
    notify_url: str | None = None,
) -> processes.Accepted:
    submission = delete_submission(
        schemas.load(conn, account_id), object_type, ids=ids, ext_ids=ext_ids
    )
    return processes.accept(
        conn,
        account_id,
        submission,
        dialect=dialect,
        idempotency_key=idempotency_key,
        digest=digest,
        notify_url=notify_url,
    )


# ---- reads -----------------------------------------------------------------------------------


def readable_type(schema: AccountSchema, name: str) -> ObjectType:
    """A type whose records may be listed; an unknown one is Brevo's 400 "invalid object_type"."""
    try:
        t = custom_type(schema, name)
    except NotFound as e:
        raise CrmError(f"invalid object_type: {e.message}", field="object_type") from None
    if not t.primary_attribute:
        raise FailedDependency(f"primary attribute not found for object type {name!r}")
    return t


def page(
    conn: Connection,
    account_id: int,
    object_type: str,
    *,
    limit: int,
    page_num: int,
    descending: bool,
    with_associations: bool,
) -> tuple[int, list[dict[str, Any]]]:
    """One page of records (oldest first or newest first), with up to 5 links per type."""
    schema = schemas.load(conn, account_id)
    t = readable_type(schema, object_type)
    total = store.count(conn, t.id)
    rows = store.page(conn, t.id, limit=limit, offset=(page_num - 1) * limit, descending=descending)
    links = store.linked_ids(conn, [r.id for r in rows], per_type=5) if with_associations else {}
    out = []
    for r in rows:
        item: dict[str, Any] = {
            "id": r.id,
            "ext_id": r.ext_id,
            "attributes": r.attributes,
            "created_at": r.created_at,
            "updated_at": r.updated_at,
        }
        if with_associations:
            item["associations"] = [
                {"object_type": _type_name(schema, type_id), "ids": ids}
                for type_id, ids in sorted(links.get(r.id, {}).items())
            ]
        out.append(item)
    return total, out


def _type_name(schema: AccountSchema, type_id: int) -> str:
    t = schema.by_id(type_id)
    return t.name if t else str(type_id)


ASSOCIATED_PAGE = 20


def associated(
    conn: Connection,
    account_id: int,
    object_type: str,
    *,
    id: int | None,
    ext_id: str | None,
    email: str | None = None,
    sms: str | None = None,
    types: list[str],
    offset: int,
) -> tuple[bool, list[dict[str, Any]]]:
    """Records linked to one record, 20 a page; ``has_more`` tells if another page exists.

    The record is named by exactly one of ``id``, ``ext_id``, or (contacts only) ``email`` or
    ``sms``.
    """
    if sum(v is not None for v in (id, ext_id, email, sms)) != 1:
        raise CrmError("give exactly one of id, ext_id, email or sms", field="id")
    if (email or sms) and object_type != "contact":
        raise CrmError("email and sms identify contacts only (object_type=contact)", field="email")
    schema = schemas.load(conn, account_id)
    t = schema.types.get(object_type)
    if t is None:
        raise NotFound(f"Object not found for the provided object type {object_type!r}")
    if email or sms:
        kind, value = ("EMAIL", email) if email else ("SMS", sms)
        live = [contacts.find_id(conn, schema, kind, value)]
    else:
        found = store.fetch(
            conn,
            t.id,
            ids=[id] if id is not None else [],
            ext_ids=[nfc(ext_id)] if ext_id else [],
        )
        live = [rid for rid, _, _, archived in found if not archived]
    if not live:
        label = f"id {id}" if id is not None else f"ext_id {ext_id!r}"
        raise NotFound(f"no {object_type} record has {label}")
    wanted = types or sorted(t.associations)
    type_ids = []
    for name in wanted:
        other = schema.types.get(name)
        if other is None:
            raise CrmError(f"unknown object type {name!r}", field="type")
        type_ids.append(other.id)
    rows = store.linked_page(conn, live[0], type_ids, limit=ASSOCIATED_PAGE + 1, offset=offset)
    items = [
        {
            "type": _type_name(schema, r.other_type_id),
            "object": {
                "id": r.id,
                "ext_id": r.ext_id,
                "attributes": r.attributes,
                "created_at": clock.iso(r.created_at),
                "updated_at": clock.iso(r.updated_at),
            },
        }
        for r in rows[:ASSOCIATED_PAGE]
    ]
    return len(rows) > ASSOCIATED_PAGE, items


# ---- reads by id and by unique value (HubSpot) ---------------------------------------------


def _full(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "ext_id": row.ext_id,
        "attributes": row.attributes,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "archived_at": row.archived_at,
    }


def linked(
    conn: Connection, ids: list[int], type_ids: list[int]
) -> dict[int, dict[int, list[int]]]:
    """record id → other type id → the live records of that type linked to it (lowest first)."""
    wanted = set(type_ids)
    return {
        rid: {tid: others for tid, others in per_type.items() if tid in wanted}
        for rid, per_type in store.linked_ids(conn, ids).items()
    }


def lookup(conn: Connection, t: ObjectType, key: str, values: dict[Any, Any]) -> dict[Any, int]:
    """For each ``given: value`` of the unique attribute ``key`` that belongs to a record, the
    record's id (``given → id``)."""
    attr = t.attributes.get(key)
    if attr is None or not attr.unique:
        raise CrmError(f"{key!r} is not a unique attribute of {t.name}", field="idProperty")
    kind = schemas.unique_kind(key)
    norm = {given: identifier_of(attr, value) for given, value in values.items()}
    found = store.lookup_identifiers(conn, t.id, {(kind, v) for v in norm.values()})
    return {given: found[(kind, v)] for given, v in norm.items() if (kind, v) in found}


def by_ids(
    conn: Connection, t: ObjectType, ids: list[int], *, archived: bool | None = False
) -> dict[int, dict[str, Any]]:
    """Records by id, with timestamps and ``archived_at`` (``archived`` as in
    :func:`store.get_many`)."""
    return {r.id: _full(r) for r in store.get_many(conn, t.id, ids, archived=archived)}


def after(
    conn: Connection, t: ObjectType, *, after_id: int, limit: int, archived: bool
) -> list[dict[str, Any]]:
    """Cursor paging: up to ``limit`` records with an id above ``after_id``, lowest first."""
    return [
        _full(r) for r in store.after(conn, t.id, after_id=after_id, limit=limit, archived=archived)
    ]


def history(
    conn: Connection, ids: list[int], keys: list[str]
) -> dict[int, dict[str, list[tuple[Any, Any]]]]:
    """record id → attribute → its values over time ``(changed_at, value)``, newest first
    (``None``: cleared)."""
    wanted = set(keys)
    out: dict[int, dict[str, list[tuple[Any, Any]]]] = {}
    for rid, changes in store.history(conn, ids).items():
        per_key = out.setdefault(rid, {})
        for at, change in changes:
            for key, value in change.items():
                if key in wanted:
                    per_key.setdefault(key, []).append((at, value))
    return out


def links_between(
    conn: Connection, pairs: list[tuple[int, int]]
) -> dict[tuple[int, int], frozenset[int]]:
    """For each (record, other) pair that is linked, the labels the link carries."""
    found = store.existing_links(conn, [a for a, _ in pairs], [b for _, b in pairs])
    return {pair: found[pair] for pair in pairs if pair in found}


def links_from(
    conn: Connection, starts: list[tuple[int, int]], other: ObjectType, *, limit: int
) -> list[store.Link]:
    """For each (record, after): its live links to records of ``other`` by their id, past
    ``after``, at most ``limit``, with their labels."""
    return store.links_from(conn, starts, other.id, limit=limit)


def timeline(conn: Connection, record_id: int, *, limit: int = 200) -> list[dict[str, Any]]:
    """A record's changes, newest first, each attribute with the value it had before: ``[{at,
    process_id, changes: [(key, before, after)]}]``. ``before`` of the oldest change shown is
    ``None`` (created, or older than ``limit``)."""
    rows = store.changes_of(conn, record_id, limit=limit)
    seen: dict[str, Any] = {}
    out = []
    for row in reversed(rows):  # oldest first, so each value's predecessor is known
        changes = [(k, seen.get(k), v) for k, v in sorted((row["changes"] or {}).items())]
        seen.update(row["changes"] or {})
        out.append({"at": row["changed_at"], "process_id": row["process_id"], "changes": changes})
    return out[::-1]


def owned(conn: Connection, schema: AccountSchema, record_id: int) -> tuple[ObjectType, Any]:
    """A live record of the account with its type; 404 when the account has none by this id."""
    type_id = store.type_of(conn, schema.account_id, record_id)
    t = schema.by_id(type_id) if type_id is not None else None
    found = by_ids(conn, t, [record_id]) if t is not None else {}
    if t is None or record_id not in found:
        raise NotFound(f"no record {record_id} in this account", field="id")
    return t, found[record_id]
