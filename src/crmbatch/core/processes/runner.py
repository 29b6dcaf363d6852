"""Run processes through the core, by kind. Dialect-neutral: the payload already holds core
commands.

Every kind is planned first (reads only: what a dry run shows, and what the worker works out on
a snapshot outside SQLite's write lock) and then applied (under the partition's lock: the plan is
written when it still holds, else made again there).

Consecutive processes of one partition and kind may run as one *group*: their items are applied
as one batch, in order (exactly as if applied one after the other), in one transaction, and the
outcome is split back per process. Small batches (events of 200, HubSpot's 100) then cost what a
large one costs per item, instead of paying every per-transaction cost each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy.engine import Connection, RowMapping

from crmbatch.core import clock
from crmbatch.core.contacts import batch as contacts_batch
from crmbatch.core.contacts import writes as contact_writes
from crmbatch.core.events import apply as events_apply
from crmbatch.core.events.service import KIND_EVENTS
from crmbatch.core.processes import store
from crmbatch.core.records import plan as records_plan
from crmbatch.core.records import remove, write
from crmbatch.core.records.service import KIND_ARCHIVE, KIND_DELETE, KIND_UPSERT
from crmbatch.core.results import Outcome, Result, error, new_counts
from crmbatch.core.schema import service as schemas
from crmbatch.core.schema.model import AccountSchema, ObjectType

#: kinds whose consecutive processes may be applied together, and the payload key of their items
GROUPABLE = {
    KIND_UPSERT: "records",
    KIND_EVENTS: "events",
    **dict.fromkeys(contacts_batch.CONTACT_KINDS, "contacts"),
}

CONTACT = "contact"
#: kinds whose items each find or make a contact: how their contact commands are derived
CONTACT_COMMANDS = {
    KIND_EVENTS: events_apply.contact_commands,
    **dict.fromkeys(contacts_batch.CONTACT_KINDS, contacts_batch.contact_commands),
}


@dataclass
class Group:
    """Processes of one partition and kind, applied as one batch (often just one)."""

    rows: list[RowMapping] | list[dict[str, Any]]

    @property
    def head(self) -> Any:
        return self.rows[0]

    @property
    def kind(self) -> str:
        return str(self.head["kind"])

    @property
    def account_id(self) -> int:
        return int(self.head["account_id"])

    @cached_property
    def payload(self) -> dict[str, Any]:
        """The group's items as one payload (built once: plan and apply both use it); the
        fingerprint only when every process was checked against the same schema."""
        if len(self.rows) == 1:
            return dict(self.head["payload"])
        key = GROUPABLE[self.kind]
        payloads = [r["payload"] for r in self.rows]
        merged = {**payloads[0], key: [item for p in payloads for item in p[key]]}
        if any(p.get("fingerprint") != payloads[0].get("fingerprint") for p in payloads):
            merged["fingerprint"] = None
        return merged

    @cached_property
    def _positions(self) -> list[tuple[int, int]]:
        """(process id, index within it) of each item of the group."""
        if self.kind not in GROUPABLE:
            return []
        key = GROUPABLE[self.kind]
        return [(r["id"], i) for r in self.rows for i in range(len(r["payload"][key]))]

    def process_ids(self) -> list[int]:
        """The process each item came from, item by item."""
        return [pid for pid, _ in self._positions]

    def origin(self, position: int) -> str:
        """The item at ``position`` as messages name it."""
        if len(self.rows) == 1:
            return f"item {position} of this batch"
        pid, index = self._positions[position]
        return f"item {index} of process {pid}"

    def split(self, outcome: Outcome) -> list[Outcome]:
        """The outcome of each process: its slice of the results, indexed within itself."""
        if self.kind not in GROUPABLE:
            return [outcome]
        out = []
        start = 0
        for row in self.rows:
            items = row["payload"][GROUPABLE[self.kind]]
            results = outcome.results[start : start + len(items)]
            for position, (item, result) in enumerate(zip(items, results, strict=True)):
                result.index = item.get("index", position)
            out.append(Outcome(results))
            start += len(items)
        return out


def _missing_type(payload: dict[str, Any], n: int) -> Outcome:
    gone = error(
        "object_type_not_found",
        "object_type",
        f"object type {payload['object_type']!r} no longer exists",
    )
    return Outcome([Result.failure(i, gone) for i in range(n)])


def _size(payload: dict[str, Any]) -> int:
    return len(payload.get("records") or payload.get("ids") or payload.get("ext_ids") or [])


@dataclass(frozen=True)
class Handler:
    """How a kind is planned (reads only), previewed (a dry run) and applied."""

    plan: Callable[[Connection, AccountSchema, Group], Any]
    preview: Callable[[Connection, AccountSchema, Group, Any], Outcome]
    apply: Callable[[Connection, AccountSchema, Group, Any], Outcome]


def _type_of(schema: AccountSchema, payload: dict[str, Any]) -> ObjectType | None:
    return schema.types.get(payload["object_type"])


# -- record upserts ----------------------------------------------------------------------------


def _prechecked(payload: dict[str, Any], t: ObjectType) -> bool:
    return payload.get("fingerprint") == t.fingerprint()


def _plan_upsert(conn: Connection, schema: AccountSchema, group: Group) -> Any:
    payload = group.payload
    t = _type_of(schema, payload)
    if t is None:
        return None
    return records_plan.plan_upsert(
        conn,
        schema,
        t,
        payload["records"],
        prechecked=_prechecked(payload, t),
        strict=bool(payload.get("strict")),
        origin=group.origin,
    )


def _preview_upsert(conn: Connection, schema: AccountSchema, group: Group, plan: Any) -> Outcome:
    if plan is None:
        return _missing_type(group.payload, _size(group.payload))
    preview: Outcome = plan.preview()
    return preview


def _apply_upsert(conn: Connection, schema: AccountSchema, group: Group, prepared: Any) -> Outcome:
    payload = group.payload
    process_ids = group.process_ids()
    if prepared is not None:
        done = write.write_upsert(conn, schema, prepared, process_id=process_ids, at=clock.now())
        if done is not None:
            return done
    t = _type_of(schema, payload)
    if t is None:
        return _missing_type(payload, _size(payload))
    return write.apply_upsert(
        conn,
        schema,
        t,
        payload["records"],
        process_id=process_ids,
        prechecked=_prechecked(payload, t),
        strict=bool(payload.get("strict")),
        origin=group.origin,
    )


# -- deletes and archives ------------------------------------------------------------------------


def _plan_removal(conn: Connection, schema: AccountSchema, group: Group) -> Any:
    payload = group.payload
    t = _type_of(schema, payload)
    if t is None:
        return None
    if group.kind == KIND_ARCHIVE:
        return remove.plan_archive(conn, t, payload["ids"])
    return remove.plan_delete(conn, t, ids=payload.get("ids"), ext_ids=payload.get("ext_ids"))


def _apply_removal(
    conn: Connection, schema: AccountSchema, group: Group, prepared: Any = None
) -> Outcome:
    payload = group.payload
    t = _type_of(schema, payload)
    if t is None:
        return _missing_type(payload, _size(payload))
    if group.kind == KIND_ARCHIVE:
        return remove.apply_archive(conn, schema, t, ids=payload["ids"], at=clock.now())
    return remove.apply_delete(
        conn, schema, t, ids=payload.get("ids"), ext_ids=payload.get("ext_ids")
    )


# -- items that each find or make a contact (events, contacts batches) -------------------------


def _rows_checked(schema: AccountSchema, group: Group) -> None:
    """An import's parts are stored with their rows as given: check them (once per group) so
    that planning and applying see items as every other contacts batch has them."""
    if group.kind != contacts_batch.KIND_IMPORT_PART:
        return
    if not any("rows" in r["payload"] for r in group.rows):
        return
    group.rows = [
        {**r, "payload": contact_writes.check_part(schema, r["payload"])} for r in group.rows
    ]
    for derived in ("payload", "_positions"):  # worked out from the rows as they were
        group.__dict__.pop(derived, None)


def _plan_contacts(conn: Connection, schema: AccountSchema, group: Group) -> Any:
    _rows_checked(schema, group)
    payload = group.payload
    t = schema.types[CONTACT]
    return records_plan.plan_upsert(
        conn,
        schema,
        t,
        CONTACT_COMMANDS[group.kind](payload),
        prechecked=_prechecked(payload, t),
        origin=group.origin,
    )


def _contact_items(apply: Any, preview: Callable[..., Outcome]) -> Handler:
    def apply_group(
        conn: Connection, schema: AccountSchema, group: Group, prepared: Any = None
    ) -> Outcome:
        _rows_checked(schema, group)
        outcome: Outcome = apply(
            conn,
            schema,
            group.payload,
            prepared=prepared,
            process_ids=group.process_ids(),
            at=clock.now(),
        )
        return outcome

    def preview_group(conn: Connection, schema: AccountSchema, group: Group, plan: Any) -> Outcome:
        return preview(conn, schema, group.payload, plan)

    return Handler(_plan_contacts, preview_group, apply_group)


# -- a process applied in parts (an import): joined once its last part is applied -------------


def _join_parts(
    conn: Connection, schema: AccountSchema, group: Group, prepared: Any = None
) -> Outcome:
    """The parts' results, one after another (each result keeps its index in the whole), and
    their counts; a part that failed for good fails the whole (it is retried, then failed)."""
    ids = [int(i) for i in group.payload["parts"]]
    parts = store.rows(conn, ids, payload=False)
    unfinished = [p for p in parts if p["status"] != "completed"]
    if unfinished or len(parts) != len(ids):
        first = unfinished[0] if unfinished else None
        raise RuntimeError(
            f"part {first['id']} of this process is {first['status']}: {first['error']}"
            if first is not None
            else "a part of this process is missing"
        )
    counts = new_counts(0)
    for part in parts:
        for key, value in (part["counts"] or {}).items():
            counts[key] = counts.get(key, 0) + int(value)
    texts = store.results_texts(conn, ids)
    inner = [texts[i].strip()[1:-1].strip() for i in ids]
    return Outcome(
        [],
        joined_counts=counts,
        results_text="[" + ",".join(t for t in inner if t) + "]",
        joined_warned=sum(int(part["warned"] or 0) for part in parts),
    )


def _preview_removal(conn: Connection, schema: AccountSchema, group: Group, plan: Any) -> Outcome:
    if plan is None:
        return _missing_type(group.payload, _size(group.payload))
    outcome: Outcome = plan.preview()
    return outcome


HANDLERS: dict[str, Handler] = {
    KIND_UPSERT: Handler(_plan_upsert, _preview_upsert, _apply_upsert),
    KIND_DELETE: Handler(_plan_removal, _preview_removal, _apply_removal),
    KIND_ARCHIVE: Handler(_plan_removal, _preview_removal, _apply_removal),
    KIND_EVENTS: _contact_items(events_apply.apply, events_apply.preview),
    **dict.fromkeys(
        contacts_batch.CONTACT_KINDS, _contact_items(contacts_batch.apply, contacts_batch.preview)
    ),
    contacts_batch.KIND_IMPORT: Handler(
        lambda conn, schema, group: None, lambda *_: Outcome([]), _join_parts
    ),
}

#: kinds whose plan is worth making on a snapshot before the write lock is taken (SQLite)
PREPARED = frozenset({KIND_UPSERT, KIND_EVENTS, *contacts_batch.CONTACT_KINDS})


def _handler(kind: str) -> Handler:
    handler = HANDLERS.get(kind)
    if handler is None:
        raise LookupError(f"no handler for process kind {kind!r}")
    return handler


def prepare(conn: Connection, group: Group) -> Any:
    """Work a group's outcome out on a read snapshot, outside the write lock (``None`` when
    its kind has nothing to prepare). :func:`run` then only writes it, if still valid."""
    if group.kind not in PREPARED:
        return None
    return _handler(group.kind).plan(conn, schemas.load(conn, group.account_id), group)


def run(conn: Connection, group: Group, prepared: Any = None) -> list[Outcome]:
    """Apply a group; one outcome per process, in the group's order."""
    handler = _handler(group.kind)
    schema = schemas.load(conn, group.account_id)
    return group.split(handler.apply(conn, schema, group, prepared))


def preview(conn: Connection, account_id: int, kind: str, payload: dict[str, Any]) -> Outcome:
    """What applying a payload would do against the data as it stands (a dry run)."""
    handler = _handler(kind)
    group = Group([{"id": None, "kind": kind, "account_id": account_id, "payload": payload}])
    schema = schemas.load(conn, account_id)
    (outcome,) = group.split(
        handler.preview(conn, schema, group, handler.plan(conn, schema, group))
    )
    return outcome


def group_of(rows: list[RowMapping]) -> Group:
    return Group(list(rows))
