"""Batches of contacts (MainBrainer's ``contacts/batch``): accept, apply, report.

A contact item, as a dialect hands it over::

    {"contact_id": 17?, "email": "jane@example.com"?, "phone": "+447700900123"?,
     "list": "<list uuid>"?, "opt_ins": {"EMAIL_OPT_IN": true?, "SMS_OPT_IN": false?},
     "properties": [{"id": "<attribute uuid>"?, "name": "AGE"?, "value": "37"?}, ...]}

Matching: ``contact_id`` names the contact (unknown → the item is skipped, ``contact_not_found``);
else the email finds it; else the mobile number (the ``SMS`` channel); else a new contact is made.
The email and number given are also values to set on the contact found (see ``replace`` in
:mod:`crmbatch.core.contacts.identity`); one held by another contact is never taken from it.

An email or number that is not valid is left out with a warning; an item left with no identifier
at all is skipped (``no_identifier``, or why its only identifier was not valid).

Properties name an attribute of ``contact`` by its id or key; each value is text, converted to
the attribute's type. An unknown property or a value that does not convert is left out and
reported (``invalid_properties``); the rest of the item still applies. Fields not given keep their
stored values.

The batch is one process (kind ``contacts_batch``) in the contacts' partition: it applies in order
with Brevo's events and every other change to contacts, through the records engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from crmbatch.core.errors import OutOfRange, Unprocessable
from crmbatch.core.lists import store as lists_store
from crmbatch.core.processes import service as processes
from crmbatch.core.processes import store as process_store
from crmbatch.core.records import plan as records_plan
from crmbatch.core.records import store as records_store
from crmbatch.core.records.write import write_or_apply
from crmbatch.core.results import Outcome, Result, cap_warnings, error, problem, typed
from crmbatch.core.schema import service as schemas
from crmbatch.core.schema.model import AccountSchema, Attribute, ObjectType
from crmbatch.core.values import Ignored, ValueProblem, email, from_text, phone, suggest

KIND_CONTACTS = "contacts_batch"
#: the synchronous contact writes of the contacts APIs (each request its own process, applied
#: at once; see :mod:`crmbatch.core.contacts.writes`)
KIND_WRITE = "contacts_write"
#: an import of contacts: its parts (at most 1000 rows each) are applied one after another, and
#: the import itself after them, joining their results
KIND_IMPORT = "contacts_import"
KIND_IMPORT_PART = "contacts_import_part"
#: every kind whose items are contact items: one handler applies them all
CONTACT_KINDS = (KIND_CONTACTS, KIND_WRITE, KIND_IMPORT_PART)
CONTACT = "contact"
MAX_CONTACTS = 1000


@dataclass
class ContactsAccepted:
    accepted: processes.Accepted
    #: each property left out: {index, id, name, value, reason}
    invalid_properties: list[dict[str, Any]] = field(default_factory=list)
    #: contact ids that name no contact now (the report says what became of them)
    invalid_contact_ids: list[int] = field(default_factory=list)


def _skip(code: str, message: str) -> dict[str, Any]:
    return error(code, "identifiers", message)


class _Properties:
    """Finds contact attributes by id or key and converts text values to them."""

    def __init__(self, contact: ObjectType) -> None:
        self.contact = contact
        self.by_key = contact.attributes
        self.by_id = {a.id: a for a in contact.attributes.values()}

    def unknown(self, prop: dict[str, Any]) -> str:
        """Why ``prop`` names no attribute, with the one its name probably meant."""
        if not prop.get("id") and not prop.get("name"):
            return "give a propertyId or a propertyName"
        if prop.get("id"):
            return f"no contact attribute has the id {prop['id']!r}"
        meant = suggest(self.contact, str(prop["name"]))
        hint = f" (did you mean {meant!r}?)" if meant else ""
        return f"no contact attribute is named {prop['name']!r}{hint}"

    def find(self, prop: dict[str, Any]) -> Attribute | None:
        if prop.get("id"):
            return self.by_id.get(str(prop["id"]).lower())
        if prop.get("name"):
            return self.by_key.get(prop["name"])
        return None


def _item(
    index: int,
    raw: dict[str, Any],
    props: _Properties,
    list_ids: dict[str, int],
    default_list: str | None,
    invalid: list[dict[str, Any]],
) -> dict[str, Any]:
    """One stored item: what identifies the contact, what to set, which list it joins."""
    identity: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    warnings: list[dict[str, Any]] = []
    skip: dict[str, Any] | None = None
    if raw.get("contact_id") is not None:
        identity["id"] = raw["contact_id"]
    problem: dict[str, Any] | None = None
    for kind, value, normalise, code in (
        ("EMAIL", raw.get("email"), email, "invalid_email"),
        ("SMS", raw.get("phone"), phone, "invalid_mobile_number"),
    ):
        if value is None:
            continue
        try:
            identity[kind] = normalise(value)
        except ValueProblem as e:  # left out; the item goes on if something else names it
            problem = problem or _skip(code, f"{kind}: {e}")
            warnings.append({**_skip(code, f"{kind}: {e}; it was left out"), "suggestion": None})
    if not identity:
        skip = problem or _skip("no_identifier", "give a contactId, an email or a mobile number")
    for key, value in (raw.get("opt_ins") or {}).items():
        if value is not None:
            attributes[key] = bool(value)
    for position, prop in enumerate(raw.get("properties") or ()):
        attr = props.find(prop)
        reason = None
        if attr is None:
            reason = props.unknown(prop)
        else:
            try:
                attributes[attr.key] = from_text(attr, prop.get("value"))
            except (ValueProblem, Ignored) as e:
                reason = f"{attr.key}: {e}"
        if reason is not None:
            invalid.append(
                {
                    "index": index,
                    "id": prop.get("id"),
                    "name": prop.get("name"),
                    "value": prop.get("value"),
                    "reason": reason,
                }
            )
            warnings.append(
                {
                    "code": "invalid_property",
                    "field": f"properties[{position}]",
                    "message": f"{reason}; the property was left out",
                    "suggestion": None,
                }
            )
    chosen = raw.get("list") or default_list
    return {
        "index": index,
        "identify": identity,
        "attributes": attributes,
        "warnings": cap_warnings(warnings),
        "list_ids": [list_ids[chosen]] if chosen else [],
        "skip": skip,
    }


@dataclass
class ContactsChecked:
    submission: processes.Submission
    #: each property left out: {index, id, name, value, reason}
    invalid_properties: list[dict[str, Any]]
    #: contact ids that name no contact now (the report says what became of them)
    invalid_contact_ids: list[int]


def contacts_submission(
    conn: Connection,
    schema: AccountSchema,
    items: list[dict[str, Any]],
    *,
    list_uuid: str | None,
) -> ContactsChecked:
    """Check a batch of contact items as one submission; lists must exist (422)."""
    n = len(items)
    if n == 0 or n > MAX_CONTACTS:
        raise OutOfRange(
            f"contacts cannot be empty or more than {MAX_CONTACTS} (got {n})", field="contacts"
        )
    wanted = {u for u in [list_uuid, *(i.get("list") for i in items)] if u}
    list_ids = lists_store.by_uuids(conn, schema.account_id, sorted(wanted))
    unknown = sorted(wanted - set(list_ids))
    if unknown:
        raise Unprocessable(f"no list has id {unknown[0]!r} in this account", field="listId")
    contact = schema.types[CONTACT]
    props = _Properties(contact)
    invalid: list[dict[str, Any]] = []
    stored = [_item(i, raw, props, list_ids, list_uuid, invalid) for i, raw in enumerate(items)]
    asked = sorted({s["identify"]["id"] for s in stored if "id" in s["identify"]})
    found = {row[0] for row in records_store.fetch(conn, contact.id, ids=asked)}
    payload = {
        "fingerprint": contact.fingerprint(),
        "contacts": stored,
        "invalid_properties": invalid,
    }
    return ContactsChecked(
        processes.Submission(KIND_CONTACTS, CONTACT, payload, n),
        invalid,
        [i for i in asked if i not in found],
    )


def accept_contacts(
    conn: Connection,
    account_id: int,
    items: list[dict[str, Any]],
    *,
    list_uuid: str | None,
    dialect: str,
    idempotency_key: str | None = None,
    digest: str | None = None,
    notify_url: str | None = None,
) -> ContactsAccepted:
    """Check a batch of contact items and store it as one process."""
    checked = contacts_submission(conn, schemas.load(conn, account_id), items, list_uuid=list_uuid)
    accepted = processes.accept(
        conn,
        account_id,
        checked.submission,
        dialect=dialect,
        idempotency_key=idempotency_key,
        digest=digest,
        notify_url=notify_url,
    )
    return ContactsAccepted(accepted, checked.invalid_properties, checked.invalid_contact_ids)


# -- apply -------------------------------------------------------------------------------------


def contact_commands(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The items to apply as the planner's commands: an item that gives its ``mode`` and
    ``replace_identifiers`` is its own command (the planner reads only a command's keys and
    copies what it changes); an older one is given the defaults."""
    return [
        c
        if "mode" in c and "replace_identifiers" in c
        else {
            "identify": c["identify"],
            "attributes": c["attributes"],
            "warnings": c["warnings"],
            "replace_identifiers": c.get("replace_identifiers", True),
            "mode": c.get("mode", "upsert"),
        }
        for c in payload["contacts"]
        if c["skip"] is None
    ]


#: per mode, the failure that leaves an item skipped instead (MainBrainer skips an unknown
#: contactId; an import that does not update existing contacts skips them)
SKIPPED_BY = {"upsert": "contact_not_found", "new_only": "contact_exists"}


def _merged(items: list[dict[str, Any]], applied: list[Result]) -> list[Result]:
    """Every item's result in order: the applied ones, and the skipped ones in between."""
    out: list[Result] = []
    done = iter(applied)
    for i, c in enumerate(items):
        if c["skip"] is not None:
            status = c.get("skip_status", "skipped")
            out.append(Result.failure(i, c["skip"], warnings=c["warnings"], status=status))
            continue
        result = next(done)
        result.index = i
        skipped_by = SKIPPED_BY.get(c.get("mode", "upsert"))
        if result.status == "failed" and result.errors[0]["code"] == skipped_by:
            result.status = "skipped"
        out.append(result)
    return out


def list_ids_of(item: dict[str, Any]) -> list[int]:
    """The lists an item's contact joins (a payload stored before ``list_ids`` had ``list_id``);
    the item's own list: not to be changed."""
    if "list_ids" in item:
        return item["list_ids"]
    return [item["list_id"]] if item.get("list_id") is not None else []


def preview(
    conn: Connection, schema: AccountSchema, payload: dict[str, Any], plan: records_plan.Plan
) -> Outcome:
    """What applying the batch would do (a dry run)."""
    return Outcome(_merged(payload["contacts"], plan.preview().results))


def apply(
    conn: Connection,
    schema: AccountSchema,
    payload: dict[str, Any],
    *,
    prepared: records_plan.Plan | None,
    process_ids: list[int],
    at: datetime,
) -> Outcome:
    """Write the contacts (the prepared plan when still valid) and their list memberships;
    ``process_ids`` names the process of each item. Lists emptied first (``clear_lists``), then
    each applied item's contact joins its ``list_ids`` and leaves its ``unlink_list_ids``; a list
    deleted since the batch was accepted is passed over with a warning."""
    items = payload["contacts"]
    live = [i for i, c in enumerate(items) if c["skip"] is None]
    named = set(payload.get("clear_lists", ()))
    for shape in {(tuple(list_ids_of(c)), tuple(c.get("unlink_list_ids", ()))) for c in items}:
        named.update(*shape)
    existing = set(lists_store.existing(conn, schema.account_id, named))
    lists_store.clear(conn, [n for n in payload.get("clear_lists", ()) if n in existing])
    done = write_or_apply(
        conn,
        schema,
        schema.types[CONTACT],
        lambda: contact_commands(payload),
        prepared=prepared,
        process_id=[process_ids[i] for i in live],
        at=at,
        fingerprint=payload.get("fingerprint"),
    )
    results = _merged(items, done.results)
    gone_lists = named - existing
    joins: list[tuple[int, int]] = []
    leaves: list[tuple[int, int]] = []
    for c, r in zip(items, results, strict=True):
        if not r.applied or r.id is None:
            continue
        wanted = list_ids_of(c)
        unwanted = c.get("unlink_list_ids", ())
        if gone_lists:
            _pass_over(r, [n for n in (*wanted, *unwanted) if n in gone_lists])
            wanted = [n for n in wanted if n in existing]
            unwanted = [n for n in unwanted if n in existing]
        joins += [(n, r.id) for n in wanted]
        leaves += [(n, r.id) for n in unwanted]
    lists_store.add_members(conn, schema.account_id, joins, at)
    lists_store.remove_members(conn, leaves)
    return Outcome(results)


def _pass_over(result: Result, gone: list[int]) -> None:
    """Warn that the lists ``gone`` (deleted since the batch was accepted) were passed over."""
    if not gone:
        return
    result.warnings = cap_warnings(
        [
            *result.warnings,
            *(
                problem(
                    "list_not_found",
                    "listIds",
                    f"list {n} was deleted before this item was applied; it was passed over",
                )
                for n in dict.fromkeys(gone)
            ),
        ]
    )


# -- report ------------------------------------------------------------------------------------


def report(conn: Connection, account_id: int, process_id: int) -> dict[str, Any]:
    """The report of a batch of contacts (see :func:`report_of`), read from the database."""
    process = processes.full(conn, account_id, process_id)
    if process["kind"] != KIND_CONTACTS:
        raise Unprocessable(f"process {process_id} is not a batch of contacts", field="batchId")
    return report_of(process, process_store.payload(conn, process_id))


def report_of(process: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """What became of each contact of a batch: inserted, updated (matched, changed or not) and
    skipped with the reason, plus the properties left out and the unknown contact ids.
    ``process`` as :func:`processes.full` shows it, ``payload`` as it was accepted."""
    inserted: list[int | None] = []
    updated: list[int | None] = []
    skipped: list[dict[str, Any]] = []
    unknown_ids: list[int] = []
    for result in typed(process["results"]):
        status = result.status
        if status == "created":
            inserted.append(result.id)
        elif status in ("updated", "unchanged"):
            updated.append(result.id)
        else:
            item = payload["contacts"][result.index]
            asked = item["identify"].get("id")
            reason = result.errors[0]["code"] if result.errors else status
            if reason == "contact_not_found":
                unknown_ids.append(asked)
            skipped.append(
                {"index": result.index, "contact_id": result.id or asked, "reason": reason}
            )
    return {
        "id": process["id"],
        "status": process["status"],
        "completed_at": process["completed_at"],
        "error": process["error"],
        "inserted": inserted,
        "updated": updated,
        "skipped": skipped,
        "invalid_properties": payload.get("invalid_properties", []),
        "invalid_contact_ids": unknown_ids,
    }
