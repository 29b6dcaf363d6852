"""Apply a batch of events in one transaction: resolve (and create or update) their contacts
through the records engine, find the records they point at, insert the events.

The contacts part is an ordinary contact upsert whose commands identify their contact (see
:mod:`crmbatch.core.contacts.identity`), so it is planned on a snapshot like any record batch and
shares its rules: order, merge, history, unique channels. The events themselves cost one read per
object type they name and one insert.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from crmbatch.core.events import store
from crmbatch.core.records import plan as records_plan
from crmbatch.core.records import store as records_store
from crmbatch.core.records.write import write_or_apply
from crmbatch.core.results import EventResult, Outcome, Result, problem
from crmbatch.core.schema.model import AccountSchema

CONTACT = "contact"


def contact_commands(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """One identify-command per event: find or create its contact, set its properties."""
    return [
        {
            "identify": e["identity"],
            "attributes": e["contact_properties"],
            "warnings": e["warnings"],
        }
        for e in payload["events"]
    ]


def preview(
    conn: Connection, schema: AccountSchema, payload: dict[str, Any], plan: records_plan.Plan
) -> Outcome:
    """What applying the events would do (a dry run): their contacts as planned, the objects
    they point at; no event has an id yet."""
    objects = _find_objects(conn, schema, [e["object"] for e in payload["events"]])
    return Outcome(_results(plan.preview().results, objects))


def apply(
    conn: Connection,
    schema: AccountSchema,
    payload: dict[str, Any],
    *,
    prepared: records_plan.Plan | None,
    process_ids: list[int],
    at: datetime,
) -> Outcome:
    """Write the contacts (the prepared plan when still valid) and the events;
    ``process_ids`` names the process of each event."""
    contacts = write_or_apply(
        conn,
        schema,
        schema.types[CONTACT],
        lambda: contact_commands(payload),
        prepared=prepared,
        process_id=process_ids,
        at=at,
        fingerprint=payload.get("fingerprint"),
    )
    return _record_events(conn, schema, payload, contacts, process_ids=process_ids, at=at)


def _find_objects(
    conn: Connection, schema: AccountSchema, wanted: list[dict[str, Any] | None]
) -> list[dict[str, Any] | None]:
    """For each event's ``object``: where it points (``linked``) or why it was ignored."""
    asked: dict[str, tuple[set[int], set[str]]] = {}
    for obj in wanted:
        if obj is None:
            continue
        t = schema.types.get(obj["type"]) if isinstance(obj["type"], str) else None
        if t is None or t.is_system:
            continue
        ids, exts = asked.setdefault(t.name, (set(), set()))
        rid = _record_id(obj["id"])
        if rid is not None:
            ids.add(rid)
        elif isinstance(obj["ext_id"], str):
            exts.add(obj["ext_id"])
    found: dict[str, tuple[set[int], dict[str, int]]] = {}
    for name, (ids, exts) in asked.items():
        rows = records_store.fetch(
            conn, schema.types[name].id, ids=sorted(ids), ext_ids=sorted(exts)
        )
        live = [(rid, ext) for rid, ext, _, archived in rows if not archived]
        found[name] = ({rid for rid, _ in live}, {ext: rid for rid, ext in live if ext})
    out: list[dict[str, Any] | None] = []
    for obj in wanted:
        if obj is None:
            out.append(None)
            continue
        name = obj["type"]
        if name not in found:
            reason = f"no custom object type {name!r} in this account"
            out.append({"type": name, "id": None, "linked": False, "reason": reason})
            continue
        ids, by_ext = found[name]
        rid = _record_id(obj["id"])
        if rid is not None:
            hit = rid if rid in ids else None
            label = f"id {obj['id']!r}"
        elif isinstance(obj["ext_id"], str):
            hit = by_ext.get(obj["ext_id"])
            label = f"ext_id {obj['ext_id']!r}"
        else:
            hit, label = None, "no identifier"
        if hit is None:
            reason = f"no {name} record has {label}"
            out.append({"type": name, "id": None, "linked": False, "reason": reason})
        else:
            out.append({"type": name, "id": hit, "linked": True, "reason": None})
    return out


def _record_id(value: Any) -> int | None:
    """Brevo sends the object's id as a string of digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 2**63 else None
    if isinstance(value, str) and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


def _results(contacts: list[Result], objects: list[dict[str, Any] | None]) -> list[Result]:
    """Each event's result (an :class:`EventResult`), from its contact's and where its object
    points."""
    results: list[Result] = []
    for i, (contact, obj) in enumerate(zip(contacts, objects, strict=True)):
        warnings = list(contact.warnings)
        if obj is not None and not obj["linked"]:
            warnings.append(
                problem(
                    "object_ignored",
                    "object",
                    f"{obj['reason']}; the event was kept without it",
                )
            )
        result = EventResult(i, "failed", None, None, contact.errors, warnings, None, obj)
        if contact.status != "failed":
            result.status = "created"
            result.contact = {"id": contact.id, "status": contact.status}
        results.append(result)
    return results


def _record_events(
    conn: Connection,
    schema: AccountSchema,
    payload: dict[str, Any],
    contacts: Outcome,
    *,
    process_ids: list[int],
    at: datetime,
) -> Outcome:
    events = payload["events"]
    objects = _find_objects(conn, schema, [e["object"] for e in events])
    results = _results(contacts.results, objects)
    stored = [r for r in results if r.status == "created"]
    for result, event_id in zip(stored, store.reserve_ids(conn, len(stored)), strict=True):
        result.id = event_id
    rows = []
    for e, result, obj in zip(events, results, objects, strict=True):
        if not isinstance(result, EventResult) or result.contact is None:
            continue
        linked = obj is not None and obj["linked"]
        rows.append(
            {
                "id": result.id,
                "account_id": schema.account_id,
                "contact_id": result.contact["id"],
                "name": e["name"],
                "event_date": e["date"],
                "properties": e["properties"],
                "contact_properties": e["contact_properties"] or None,
                "object_type": obj["type"] if linked and obj else None,
                "object_record_id": obj["id"] if linked and obj else None,
                "process_id": process_ids[result.index],
            }
        )
    store.insert(conn, rows, at)
    return Outcome(results)
