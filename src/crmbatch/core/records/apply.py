"""Apply a batch of record commands to one object type, set-based, inside the caller's transaction.

A record command (the dialect-neutral payload a process stores)::

    {"id": 7?, "ext_id": "car-1"?, "match": ["vin", "WVW..."]?,
     "attributes": {...}, "associations": [{"object_type": "garage", "action": "link",
                                             "records": [{"id": 1} | {"ext_id": "g-1"}]}]}

Identifier rules: ``id`` updates only (unknown → the record fails) and wins over ``ext_id``;
``match`` (a unique attribute) and ``ext_id`` update when found, else create; none creates.
Commands apply in order as if sent one after another: a later entry sees what an earlier one did.
A record applies all or nothing: if one of its values or associations cannot be applied it fails
alone, and the others go on.

The whole batch costs a constant number of statements: the records, identifiers, association
targets and existing links are read in bulk, the outcome is computed in memory, and the writes go
out as one statement per table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from crmbatch.core import clock
from crmbatch.core.contacts import identity
from crmbatch.core.processes.service import new_counts
from crmbatch.core.records import store
from crmbatch.core.records.validate import AttributeChecker, Checked
from crmbatch.core.schema.model import AccountSchema, ObjectType
from crmbatch.core.schema.service import unique_kind
from crmbatch.core.values import identifier_value


@dataclass
class _Rec:
    id: int  # negative while new: replaced by a reserved id before writing
    ext_id: str | None
    attributes: dict[str, Any]
    is_new: bool
    archived: bool = False
    dirty: bool = False
    #: the ext_id stored before this batch (None for new records)
    stored_ext_id: str | None = None
    #: (index of the command, the attributes it changed), one per change
    changes: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


class _Failure(Exception):
    def __init__(self, code: str, field: str | None, message: str) -> None:
        super().__init__(message)
        self.error = {"code": code, "field": field, "message": message}


def _result(
    index: int, status: str, rec: _Rec | None, *, errors: Any = (), warnings: Any = ()
) -> dict[str, Any]:
    return {
        "index": index,
        "status": status,
        "id": rec.id if rec else None,
        "ext_id": rec.ext_id if rec else None,
        "errors": list(errors),
        "warnings": list(warnings),
    }


#: the process of the whole batch, or of each command (a group of processes applied together)
ProcessIds = int | list[int] | None


def _process_of(process_id: ProcessIds) -> Any:
    if isinstance(process_id, list):
        return process_id.__getitem__
    return lambda index: process_id


@dataclass
class Outcome:
    counts: dict[str, int]
    results: list[dict[str, Any]]


class _Batch:
    def __init__(
        self, conn: Connection, schema: AccountSchema, t: ObjectType, commands: list[dict[str, Any]]
    ) -> None:
        self.conn = conn
        self.schema = schema
        self.t = t
        self.commands = commands
        self.by_id: dict[int, _Rec] = {}
        self.by_ext: dict[str, _Rec] = {}
        #: (kind, normalised value) → record id, as it stands now in this batch
        self.owners: dict[tuple[str, str], int] = {}
        #: the same, as it stood in the database before the batch (for the identifier diff)
        self.initial_owners: dict[tuple[str, str], int] = {}
        self.targets: dict[str, tuple[dict[int, int], dict[str, int]]] = {}
        self.links: set[tuple[int, int]] = set()
        self.initial_links: set[tuple[int, int]] = set()
        self.next_temp = -1
        self.unique_keys = {a.key for a in t.unique_attributes}

    # -- bulk reads --------------------------------------------------------------------------

    def load(self) -> None:
        ids: set[int] = set()
        ext_ids: set[str] = set()
        pairs: set[tuple[str, str]] = set()
        wanted: dict[str, tuple[set[int], set[str]]] = {}
        for c in self.commands:
            if c.get("id") is not None:
                ids.add(c["id"])
            if c.get("ext_id") is not None:
                ext_ids.add(c["ext_id"])
            if c.get("match"):
                key, value = c["match"]
                pairs.add((unique_kind(key), identifier_value(value)))
            who = c.get("identify")
            if who:
                for kind, value in who.items():
                    if kind == "id":
                        ids.add(value)
                    elif kind == "ext_id":
                        ext_ids.add(value)
                    else:
                        pairs.add((unique_kind(kind), identifier_value(value)))
            for key in self.unique_keys:
                value = (c.get("attributes") or {}).get(key)
                if value is not None:
                    pairs.add((unique_kind(key), identifier_value(value)))
            for a in c.get("associations") or ():
                w = wanted.setdefault(a["object_type"], (set(), set()))
                for r in a["records"]:
                    if r.get("id") is not None:
                        w[0].add(r["id"])
                    elif r.get("ext_id") is not None:
                        w[1].add(r["ext_id"])
        self.initial_owners = store.lookup_identifiers(self.conn, self.t.id, pairs)
        self.owners = dict(self.initial_owners)
        ids.update(rid for rid in self.initial_owners.values())
        rows = store.fetch(self.conn, self.t.id, ext_ids=sorted(ext_ids))
        loaded = {row[0] for row in rows}
        rows += store.fetch(self.conn, self.t.id, ids=sorted(ids - loaded))
        for rid, ext, attrs, archived in rows:
            if rid in self.by_id:
                continue
            rec = _Rec(
                id=rid,
                ext_id=ext,
                attributes=attrs,
                is_new=False,
                archived=archived,
                stored_ext_id=ext,
            )
            self.by_id[rec.id] = rec
            if rec.ext_id is not None:
                self.by_ext[rec.ext_id] = rec
            for key in self.unique_keys:  # the identifiers table mirrors these values
                value = rec.attributes.get(key)
                if value is not None:
                    self.initial_owners[(unique_kind(key), identifier_value(value))] = rec.id
        self.owners = dict(self.initial_owners)
        other_ids: set[int] = set()
        for type_name, (tids, text) in wanted.items():
            other = self.schema.types.get(type_name)
            by_id: dict[int, int] = {}
            by_ext: dict[str, int] = {}
            if other is not None:
                found = store.fetch(self.conn, other.id, ids=sorted(tids))
                found += store.fetch(self.conn, other.id, ext_ids=sorted(text))
                for rid, ext, _, archived in found:
                    if not archived:
                        by_id[rid] = rid
                        if ext is not None:
                            by_ext[ext] = rid
            self.targets[type_name] = (by_id, by_ext)
            other_ids.update(by_id)
        if self.t.name in wanted:
            other_ids.update(self.by_id)
        linked = store.existing_links(self.conn, sorted(self.by_id), sorted(other_ids))
        self.initial_links = linked | {(b, a) for a, b in linked}
        self.links = set(self.initial_links)

    # -- the walk ----------------------------------------------------------------------------

    def _new(self, ext_id: str | None) -> _Rec:
        rec = _Rec(id=self.next_temp, ext_id=ext_id, attributes={}, is_new=True)
        self.next_temp -= 1
        return rec

    def _target(self, c: dict[str, Any]) -> _Rec:
        """The record a command applies to (new or existing), by the identifier rules."""
        rec = self._resolve(c)
        ext_id = c.get("ext_id")
        if ext_id is not None and ext_id != rec.ext_id:
            holder = self.by_ext.get(ext_id)
            if holder is not None and holder is not rec:  # an ext_id is never taken over
                raise _Failure(
                    "ext_id_taken",
                    "identifiers.ext_id",
                    f"ext_id {ext_id!r} already belongs to {self.t.name} record {holder.id}",
                )
        return rec

    def _resolve(self, c: dict[str, Any]) -> _Rec:
        if c.get("id") is not None:
            rec = self.by_id.get(c["id"])
            if rec is None:
                raise _Failure(
                    "record_not_found",
                    "identifiers.id",
                    f"no {self.t.name} record has id {c['id']}; use ext_id to create records",
                )
            return rec
        if c.get("match"):
            key, value = c["match"]
            owner = self.owners.get((unique_kind(key), identifier_value(value)))
            if owner is not None:
                rec = self.by_id[owner]
                if c.get("ext_id") is not None and rec.ext_id not in (None, c["ext_id"]):
                    raise _Failure(
                        "identifier_conflict",
                        "identifiers.ext_id",
                        f"{key}={value!r} matches record {rec.id}, whose ext_id is {rec.ext_id!r}",
                    )
                return rec
        if c.get("ext_id") is not None:
            return self.by_ext.get(c["ext_id"]) or self._new(c["ext_id"])
        return self._new(None)

    def _owner(self, kind: str, value: Any) -> _Rec | None:
        if kind == "ext_id":
            return self.by_ext.get(value)
        owner = self.owners.get((unique_kind(kind), identifier_value(value)))
        return None if owner is None else self.by_id.get(owner)

    def _identify(
        self, c: dict[str, Any], attrs: dict[str, Any]
    ) -> tuple[_Rec, dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
        """The contact a command's identity names (see :mod:`crmbatch.core.contacts.identity`),
        the command and attributes that give it the identifiers it claims, and the warnings."""
        try:
            found = identity.resolve(
                c["identify"],
                by_id=self.by_id.get,
                owner=self._owner,
                held=lambda rec, kind: rec.ext_id if kind == "ext_id" else rec.attributes.get(kind),
                label=lambda rec: rec.id,
                replace=bool(c.get("replace_identifiers")),
            )
        except identity.ContactNotFound as e:
            raise _Failure("contact_not_found", "identifiers.id", str(e)) from None
        rec = found.contact if found.contact is not None else self._new(None)
        ext_id = found.claims.pop("ext_id", None)
        command = {**c, "ext_id": ext_id}
        # what the item sets explicitly wins over identifiers given only to find the contact
        return rec, command, {**found.claims, **attrs}, found.warnings

    def _associations(self, rec: _Rec, c: dict[str, Any]) -> list[tuple[bool, int]]:
        """(link?, target record id) for each associated record, in the order given."""
        ops: list[tuple[bool, int]] = []
        for i, a in enumerate(c.get("associations") or ()):
            name = a["object_type"]
            where = f"associations[{i}]"
            if name not in self.t.associations:
                raise _Failure(
                    "association_not_defined",
                    f"{where}.object_type",
                    f"no association is defined between {self.t.name} and {name!r}",
                )
            by_id, by_ext = self.targets.get(name, ({}, {}))
            for j, r in enumerate(a["records"]):
                if r.get("id") is not None:
                    target = by_id.get(r["id"])
                    if target is None and name == self.t.name:
                        same = self.by_id.get(r["id"])
                        target = same.id if same else None
                    label = f"id {r['id']}"
                else:
                    target = by_ext.get(r.get("ext_id"))
                    if target is None and name == self.t.name:
                        same = self.by_ext.get(r.get("ext_id") or "")
                        target = same.id if same else None
                    label = f"ext_id {r.get('ext_id')!r}"
                if target is None:
                    raise _Failure(
                        "association_target_not_found",
                        f"{where}.records[{j}].identifiers",
                        f"no {name} record has {label}",
                    )
                ops.append((a.get("action") != "unlink", target))
        return ops

    def run(self, prechecked: bool) -> tuple[Outcome, list[_Rec]]:
        """Walk the commands in order against the loaded state; nothing is written yet."""
        checker = AttributeChecker(self.t)
        results: list[dict[str, Any]] = []
        counts = new_counts(len(self.commands))
        touched: dict[int, _Rec] = {}
        for index, c in enumerate(self.commands):
            if prechecked:  # checked at accept against the same schema
                checked = Checked(c.get("attributes") or {}, [], c.get("warnings") or [])
            else:  # the schema changed since: check again, keep what accept warned about
                checked = checker.check(c.get("attributes") or {})
                checked.warnings[:0] = c.get("warnings") or []
            warnings = checked.warnings
            try:
                if checked.problems:
                    key, msg = checked.problems[0]
                    raise _Failure("invalid_value", f"attributes.{key}", f"{key}: {msg}")
                attrs = checked.attributes
                if c.get("identify") is not None:
                    rec, c, attrs, found = self._identify(c, attrs)
                    warnings = warnings + found
                else:
                    rec = self._target(c)
                link_ops = self._associations(rec, c)
                claims = self._unique_claims(rec, attrs, c, warnings)
            except _Failure as f:
                counts["failed"] += 1
                failed = _result(index, "failed", None, errors=[f.error], warnings=warnings)
                # the identifiers the command named, so the caller can tell which one failed
                failed["id"], failed["ext_id"] = c.get("id"), c.get("ext_id")
                results.append(failed)
                continue
            status = self._merge(index, rec, attrs, c, claims, link_ops)
            counts[status] += 1
            touched[id(rec)] = rec
            results.append(_result(index, status, rec, warnings=warnings))
        return Outcome(counts, results), list(touched.values())

    def link_targets(self) -> list[int]:
        """Records of other types that the planned writes link to."""
        own = set(self.by_id)
        return sorted({b for a, b in self.links - self.initial_links if a in own and b not in own})

    def _unique_claims(
        self, rec: _Rec, attrs: dict[str, Any], c: dict[str, Any], warnings: list[dict[str, Any]]
    ) -> dict[str, str | None]:
        """Unique attribute key → its new normalised value (None: cleared).

        A value another record holds fails the command; for an identified contact it is dropped
        with a warning instead (its other changes still apply, and nothing is stolen).
        """
        claims: dict[str, str | None] = {}
        if not self.unique_keys:
            return claims
        match = c.get("match")
        for key in self.unique_keys:
            if key in attrs:
                value = attrs[key]
            elif match and match[0] == key:
                value = match[1]
            else:
                continue
            norm = None if value is None else identifier_value(value)
            if norm is not None:
                owner = self.owners.get((unique_kind(key), norm))
                if owner is not None and owner != rec.id:
                    message = f"{key} {value!r} already belongs to {self.t.name} record {owner}"
                    if c.get("identify") is None:
                        raise _Failure("unique_violation", f"attributes.{key}", message)
                    del attrs[key]
                    warnings.append(
                        {
                            "code": "unique_violation",
                            "field": f"attributes.{key}",
                            "message": f"{message}; it was not applied",
                            "suggestion": None,
                        }
                    )
                    continue
            claims[key] = norm
        return claims

    def _merge(
        self,
        index: int,
        rec: _Rec,
        attrs: dict[str, Any],
        c: dict[str, Any],
        claims: dict[str, str | None],
        link_ops: list[tuple[bool, int]],
    ) -> str:
        if c.get("match"):
            key, value = c["match"]
            if key not in attrs:
                attrs = {**attrs, key: value}
        for key, norm in claims.items():
            kind = unique_kind(key)
            old = rec.attributes.get(key)
            if old is not None:
                old_pair = (kind, identifier_value(old))
                if old_pair[1] != norm and self.owners.get(old_pair) == rec.id:
                    del self.owners[old_pair]
            if norm is not None:
                self.owners[(kind, norm)] = rec.id
        changes: dict[str, Any] = {}
        if rec.is_new and not rec.attributes:  # nothing to compare with
            changes = {k: v for k, v in attrs.items() if v is not None}
            rec.attributes.update(changes)
            attrs = {}
        for key, value in attrs.items():
            old = rec.attributes.get(key)
            if value is None:
                if key in rec.attributes:
                    del rec.attributes[key]
                    changes[key] = None
            elif old != value or type(old) is not type(value):
                rec.attributes[key] = value
                changes[key] = value
        ext_changed = False
        if c.get("ext_id") is not None and rec.ext_id != c["ext_id"]:
            if rec.ext_id is not None:
                self.by_ext.pop(rec.ext_id, None)
            rec.ext_id = c["ext_id"]
            ext_changed = True
        if rec.ext_id is not None:
            self.by_ext[rec.ext_id] = rec
        self.by_id[rec.id] = rec
        before = {other for other in (o for _, o in link_ops) if (rec.id, other) in self.links}
        for link, other in link_ops:  # in order: "unlink g, link g" ends linked
            if link:
                self.links.add((rec.id, other))
                self.links.add((other, rec.id))
            else:
                self.links.discard((rec.id, other))
                self.links.discard((other, rec.id))
        after = {other for other in (o for _, o in link_ops) if (rec.id, other) in self.links}
        links_changed = before != after
        revived = rec.archived
        rec.archived = False
        if changes:
            rec.changes.append((index, changes))
        if rec.is_new and not rec.dirty:
            rec.dirty = True
            return "created"
        if changes or ext_changed or revived:
            rec.dirty = True
            return "updated"
        return "updated" if links_changed else "unchanged"

    # -- bulk writes -------------------------------------------------------------------------

    def _write(
        self,
        touched: list[_Rec],
        results: list[dict[str, Any]],
        process_id: ProcessIds,
        at: datetime,
    ) -> None:
        process_of = _process_of(process_id)
        new = [r for r in touched if r.is_new]
        real = store.reserve_ids(self.conn, len(new))
        remap = {rec.id: rid for rec, rid in zip(new, real, strict=True)}
        for rec in new:
            rec.id = remap[rec.id]
        for res in results:
            if res["id"] is not None and res["id"] < 0:
                res["id"] = remap[res["id"]]

        def real_id(i: int) -> int:
            return remap.get(i, i)

        account_id = self.schema.account_id
        # ext_ids that move within the batch are released first: unique checks run row by row
        store.release_ext_ids(
            self.conn,
            [r.id for r in touched if not r.is_new and r.stored_ext_id not in (None, r.ext_id)],
        )
        store.update_records(
            self.conn,
            [
                {"id": r.id, "attributes": r.attributes, "ext_id": r.ext_id}
                for r in touched
                if not r.is_new and r.dirty
            ],
            at,
        )
        store.insert_records(
            self.conn,
            [
                {
                    "id": r.id,
                    "account_id": account_id,
                    "object_type_id": self.t.id,
                    "ext_id": r.ext_id,
                    "attributes": r.attributes,
                }
                for r in new
            ],
            at,
        )
        final = {(k, v): real_id(o) for (k, v), o in self.owners.items()}
        gone = [pair for pair, owner in self.initial_owners.items() if final.get(pair) != owner]
        store.delete_identifiers(self.conn, self.t.id, gone)
        store.insert_identifiers(
            self.conn,
            [
                {
                    "object_type_id": self.t.id,
                    "kind": k,
                    "value": v,
                    "record_id": o,
                    "account_id": account_id,
                }
                for (k, v), o in final.items()
                if self.initial_owners.get((k, v)) != o
            ],
        )
        store.insert_history(
            self.conn,
            [
                {
                    "account_id": account_id,
                    "record_id": r.id,
                    "process_id": process_of(index),
                    "changes": ch,
                }
                for r in touched
                for index, ch in r.changes
            ],
            at,
        )
        links = {(real_id(a), real_id(b)) for a, b in self.links}
        initial = self.initial_links
        type_of = self._type_ids()
        store.unlink(self.conn, [(a, b) for a, b in initial - links if a < b])
        store.link(
            self.conn,
            [
                {
                    "record_id": a,
                    "other_record_id": b,
                    "other_type_id": type_of(b),
                    "account_id": account_id,
                    "created_at": at,
                }
                for a, b in links - initial
            ],
        )

    def _type_ids(self) -> Any:
        """record id → its type id, for the records this batch may link."""
        owner: dict[int, int] = {rec.id: self.t.id for rec in self.by_id.values()}
        for name, (by_id, _) in self.targets.items():
            other = self.schema.types.get(name)
            if other is not None:
                for rid in by_id.values():
                    owner[rid] = other.id

        def lookup(record_id: int) -> int:
            return owner.get(record_id, self.t.id)

        return lookup


@dataclass
class Plan:
    """An upsert computed against a snapshot, not yet written (see :func:`plan_upsert`)."""

    batch: _Batch
    outcome: Outcome
    touched: list[_Rec]
    fingerprint: str
    associations: frozenset[str]


def plan_upsert(
    conn: Connection,
    schema: AccountSchema,
    object_type: ObjectType,
    commands: list[dict[str, Any]],
    *,
    prechecked: bool = False,
) -> Plan:
    """Read what the batch touches and compute its outcome, writing nothing.

    Safe to run outside the write lock because only the worker that owns a partition's running
    process writes that partition; :func:`write_upsert` re-checks what lies outside it.
    """
    batch = _Batch(conn, schema, object_type, commands)
    batch.load()
    outcome, touched = batch.run(prechecked)
    return Plan(
        batch,
        outcome,
        touched,
        object_type.fingerprint(),
        frozenset(object_type.associations),
    )


def write_upsert(
    conn: Connection, schema: AccountSchema, plan: Plan, *, process_id: ProcessIds, at: datetime
) -> Outcome | None:
    """Write a plan; ``None`` when it went stale (the schema changed, or a record it links to
    is gone) and must be made again inside the write transaction."""
    t = schema.types.get(plan.batch.t.name)
    if t is None or t.fingerprint() != plan.fingerprint or t.associations != plan.associations:
        return None
    targets = plan.batch.link_targets()
    if targets and store.count_live(conn, targets) != len(targets):
        return None
    store.lock_partition(conn, f"{schema.account_id}:{t.name}")
    plan.batch.conn = conn
    plan.batch._write(plan.touched, plan.outcome.results, process_id, at)
    return plan.outcome


def write_or_apply(
    conn: Connection,
    schema: AccountSchema,
    object_type: ObjectType,
    commands: Callable[[], list[dict[str, Any]]],
    *,
    prepared: Plan | None,
    process_id: ProcessIds,
    at: datetime,
    fingerprint: str | None,
) -> Outcome:
    """Write the plan made on a snapshot when it still holds, else plan and apply ``commands()``
    here, under the write lock (``fingerprint``: of the schema the commands were checked with)."""
    if prepared is not None:
        done = write_upsert(conn, schema, prepared, process_id=process_id, at=at)
        if done is not None:
            return done
    return apply_upsert(
        conn,
        schema,
        object_type,
        commands(),
        process_id=process_id,
        at=at,
        prechecked=fingerprint == object_type.fingerprint(),
    )


def apply_upsert(
    conn: Connection,
    schema: AccountSchema,
    object_type: ObjectType,
    commands: list[dict[str, Any]],
    *,
    process_id: ProcessIds = None,
    at: datetime | None = None,
    prechecked: bool = False,
) -> Outcome:
    """Apply record commands in order; return counts and one result per command.

    ``prechecked``: the attributes were checked (and warned about) against this very schema when
    the batch was accepted, so they are not checked again.
    """
    store.lock_partition(conn, f"{schema.account_id}:{object_type.name}")
    plan = plan_upsert(conn, schema, object_type, commands, prechecked=prechecked)
    plan.batch._write(plan.touched, plan.outcome.results, process_id, at or clock.now())
    return plan.outcome


def apply_delete(
    conn: Connection,
    schema: AccountSchema,
    object_type: ObjectType,
    *,
    ids: list[int] | None = None,
    ext_ids: list[str] | None = None,
) -> Outcome:
    """Delete records by id or ext_id, with their links, identifiers and history."""
    store.lock_partition(conn, f"{schema.account_id}:{object_type.name}")
    keys: list[Any] = list(ids or ext_ids or [])
    by_ext = ext_ids is not None
    found = store.fetch(
        conn, object_type.id, ids=[] if by_ext else keys, ext_ids=keys if by_ext else []
    )
    index = {(ext if by_ext else rid): (rid, ext) for rid, ext, _, _ in found}
    counts = new_counts(len(keys))
    results: list[dict[str, Any]] = []
    doomed: list[int] = []
    seen: set[Any] = set()
    for i, key in enumerate(keys):
        row = index.get(key)
        if row is None or key in seen:
            counts["failed"] += 1
            label = "ext_id" if by_ext else "id"
            results.append(
                {
                    "index": i,
                    "status": "failed",
                    "id": None if by_ext else key,
                    "ext_id": key if by_ext else None,
                    "errors": [
                        {
                            "code": "record_not_found",
                            "field": f"identifiers.{label}s[{i}]",
                            "message": f"no {object_type.name} record has {label} {key!r}",
                        }
                    ],
                    "warnings": [],
                }
            )
            continue
        seen.add(key)
        doomed.append(row[0])
        counts["deleted"] += 1
        results.append(
            {
                "index": i,
                "status": "deleted",
                "id": row[0],
                "ext_id": row[1],
                "errors": [],
                "warnings": [],
            }
        )
    store.delete_records(conn, object_type.id, doomed)
    return Outcome(counts, results)


def apply_archive(
    conn: Connection,
    schema: AccountSchema,
    object_type: ObjectType,
    *,
    ids: list[int],
    at: datetime,
) -> Outcome:
    """Archive records by id (HubSpot's archive): hidden from reads, identifiers kept, so an
    upsert that matches one restores it. Unknown or already archived ids are ``skipped``."""
    store.lock_partition(conn, f"{schema.account_id}:{object_type.name}")
    done = set(store.archive(conn, object_type.id, ids, at))
    counts = new_counts(len(ids))
    results = []
    for i, rid in enumerate(ids):
        status = "archived" if rid in done else "skipped"
        done.discard(rid)
        counts[status] += 1
        results.append(
            {"index": i, "status": status, "id": rid, "ext_id": None, "errors": [], "warnings": []}
        )
    return Outcome(counts, results)
