"""Run claimed processes through the core, by kind. Dialect-neutral: the payload already holds
core commands.

Consecutive processes of one partition and kind may run as one *group*: their items are applied
as one batch, in order (exactly as if applied one after the other), in one transaction, and the
outcome is split back per process. Small batches (events of 200, HubSpot's 100) then cost what a
large one costs per item, instead of paying every per-transaction cost each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy.engine import Connection, RowMapping

from crmbatch.core import clock
from crmbatch.core.contacts import batch as contacts_batch
from crmbatch.core.events import apply as events_apply
from crmbatch.core.events.service import KIND_EVENTS
from crmbatch.core.processes.service import new_counts
from crmbatch.core.records import apply as records_apply
from crmbatch.core.records.service import KIND_ARCHIVE, KIND_DELETE, KIND_UPSERT
from crmbatch.core.schema import service as schemas

#: kinds whose consecutive processes may be applied together
GROUPABLE = {
    KIND_UPSERT: "records",
    KIND_EVENTS: "events",
    contacts_batch.KIND_CONTACTS: "contacts",
}


CONTACT = "contact"
#: kinds whose items each find or make a contact: how their contact commands are derived
CONTACT_COMMANDS = {
    KIND_EVENTS: events_apply.contact_commands,
    contacts_batch.KIND_CONTACTS: contacts_batch.contact_commands,
}


@dataclass
class Group:
    """Claimed processes of one partition and kind, applied as one batch."""

    rows: list[RowMapping]

    @property
    def head(self) -> RowMapping:
        return self.rows[0]

    @property
    def kind(self) -> str:
        return str(self.head["kind"])

    @cached_property
    def payload(self) -> dict[str, Any]:
        """The group's items as one payload (built once: prepare and run both use it); the
        fingerprint only when every process was checked against the same schema."""
        if len(self.rows) == 1:
            return dict(self.head["payload"])
        key = GROUPABLE[self.kind]
        payloads = [r["payload"] for r in self.rows]
        merged = {**payloads[0], key: [item for p in payloads for item in p[key]]}
        if any(p.get("fingerprint") != payloads[0].get("fingerprint") for p in payloads):
            merged["fingerprint"] = None
        return merged

    def process_ids(self) -> list[int]:
        """The process each item came from, item by item."""
        if self.kind not in GROUPABLE:
            return []
        key = GROUPABLE[self.kind]
        return [r["id"] for r in self.rows for _ in r["payload"][key]]

    def split(self, outcome: records_apply.Outcome) -> list[records_apply.Outcome]:
        """The outcome of each process: its slice of the results, indexed within itself."""
        if self.kind not in GROUPABLE:
            return [outcome]
        key = GROUPABLE[self.kind]
        out = []
        start = 0
        for row in self.rows:
            items = row["payload"][key]
            results = outcome.results[start : start + len(items)]
            counts = new_counts(len(items))
            for position, (item, result) in enumerate(zip(items, results, strict=True)):
                result["index"] = item.get("index", position)
                counts[result["status"]] += 1
            out.append(records_apply.Outcome(counts, results))
            start += len(items)
        return out


Handler = Callable[[Connection, Group, dict[str, Any], Any], records_apply.Outcome]


def _missing_type(payload: dict[str, Any], n: int) -> records_apply.Outcome:
    error = {
        "code": "object_type_not_found",
        "field": "object_type",
        "message": f"object type {payload['object_type']!r} no longer exists",
    }
    results = [
        {
            "index": i,
            "status": "failed",
            "id": None,
            "ext_id": None,
            "errors": [error],
            "warnings": [],
        }
        for i in range(n)
    ]
    return records_apply.Outcome({**new_counts(n), "failed": n}, results)


def prepare(conn: Connection, group: Group) -> Any:
    """Work a group's outcome out on a read snapshot, outside the write lock (``None`` when
    its kind has nothing to prepare). :func:`run` then only writes it, if still valid."""
    payload = group.payload
    schema = schemas.load(conn, group.head["account_id"])
    if group.kind in CONTACT_COMMANDS:  # each item finds or makes its contact
        t = schema.types[CONTACT]
        commands = CONTACT_COMMANDS[group.kind](payload)
    elif group.kind == KIND_UPSERT and payload["object_type"] in schema.types:
        t = schema.types[payload["object_type"]]
        commands = payload["records"]
    else:
        return None
    prechecked = payload.get("fingerprint") == t.fingerprint()
    return records_apply.plan_upsert(conn, schema, t, commands, prechecked=prechecked)


def _upsert(
    conn: Connection, group: Group, payload: dict[str, Any], prepared: Any = None
) -> records_apply.Outcome:
    schema = schemas.load(conn, group.head["account_id"])
    process_ids = group.process_ids()
    if prepared is not None:
        done = records_apply.write_upsert(
            conn, schema, prepared, process_id=process_ids, at=clock.now()
        )
        if done is not None:
            return done
    t = schema.types.get(payload["object_type"])
    if t is None:
        return _missing_type(payload, len(payload["records"]))
    return records_apply.apply_upsert(
        conn,
        schema,
        t,
        payload["records"],
        process_id=process_ids,
        prechecked=payload.get("fingerprint") == t.fingerprint(),
    )


def _delete(
    conn: Connection, group: Group, payload: dict[str, Any], prepared: Any = None
) -> records_apply.Outcome:
    schema = schemas.load(conn, group.head["account_id"])
    t = schema.types.get(payload["object_type"])
    if t is None:
        return _missing_type(payload, len(payload.get("ids") or payload.get("ext_ids") or []))
    return records_apply.apply_delete(
        conn, schema, t, ids=payload.get("ids"), ext_ids=payload.get("ext_ids")
    )


def _archive(
    conn: Connection, group: Group, payload: dict[str, Any], prepared: Any = None
) -> records_apply.Outcome:
    schema = schemas.load(conn, group.head["account_id"])
    t = schema.types.get(payload["object_type"])
    if t is None:
        return _missing_type(payload, len(payload["ids"]))
    return records_apply.apply_archive(conn, schema, t, ids=payload["ids"], at=clock.now())


def _contact_items(apply: Any) -> Handler:
    """A handler for items that each find or make a contact (events, contacts batches)."""

    def handler(
        conn: Connection, group: Group, payload: dict[str, Any], prepared: Any = None
    ) -> records_apply.Outcome:
        return apply(
            conn,
            schemas.load(conn, group.head["account_id"]),
            payload,
            prepared=prepared,
            process_ids=group.process_ids(),
            at=clock.now(),
        )

    return handler


HANDLERS: dict[str, Handler] = {
    contacts_batch.KIND_CONTACTS: _contact_items(contacts_batch.apply),
    KIND_UPSERT: _upsert,
    KIND_DELETE: _delete,
    KIND_ARCHIVE: _archive,
    KIND_EVENTS: _contact_items(events_apply.apply),
}


def run(conn: Connection, group: Group, prepared: Any = None) -> list[records_apply.Outcome]:
    """Apply a group; one outcome per process, in the group's order."""
    handler = HANDLERS.get(group.kind)
    if handler is None:
        raise LookupError(f"no handler for process kind {group.kind!r}")
    return group.split(handler(conn, group, group.payload, prepared))


def group_of(rows: Sequence[RowMapping]) -> Group:
    return Group(list(rows))
