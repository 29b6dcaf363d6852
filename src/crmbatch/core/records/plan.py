"""Plan a batch of record commands for one object type: read what it touches in bulk, walk the
commands in order in memory, and decide each one's result. Nothing is written here (see
:mod:`crmbatch.core.records.write`), so a plan can be made on a read snapshot, shown as a dry run,
or made and written in one transaction.

A record command (the dialect-neutral payload a process stores)::

    {"id": 7?, "ext_id": "car-1"?, "match": ["vin", "WVW..."]?, "update_only": true?,
     "attributes": {...}, "associations": [{"object_type": "garage", "action": "link",
                                             "records": [{"id": 1} | {"ext_id": "g-1"}],
                                             "labels": [3]?}]}

or ``{"reject": {"code": ..., "field": ..., "message": ...}}``: an item the dialect could not
turn into a command (it fails with that error and touches nothing).

A contact command names its contact by ``identify`` (see :mod:`crmbatch.core.contacts.identity`)
and may give a ``mode``: ``upsert`` (the default: found or created), ``update`` (an unknown
contact fails, ``contact_not_found``), ``create`` (a contact found fails, ``duplicate_contact``)
or ``new_only`` (a contact found is left alone, ``contact_exists``).

Identifier rules: ``id`` updates only (unknown → the record fails) and wins over ``ext_id``;
``match`` (a unique attribute) and ``ext_id`` update when found, else create, except that
``update_only`` never creates (unknown → the record fails); none creates.
Commands apply in order as if sent one after another: a later entry sees what an earlier one did.
A record applies all or nothing: if one of its values or associations cannot be applied it fails
alone, and the others go on.

Association labels (ids of the pair's :class:`~crmbatch.core.schema.model.Label`): ``link`` makes
the link if it is missing and adds the labels given; ``unlink`` with labels takes only those off
(the link stays); ``unlink`` without labels removes the link.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from crmbatch.core.contacts import identity
from crmbatch.core.records import links, reads
from crmbatch.core.records.failures import Failure, Invalid
from crmbatch.core.records.limits import MAX_ATTRIBUTES, MAX_IDENTIFIER
from crmbatch.core.records.validate import AttributeChecker, Checked
from crmbatch.core.results import (
    MAX_WARNINGS,
    Outcome,
    Problem,
    Result,
    cap_warnings,
    error,
    problem,
)
from crmbatch.core.schema.model import AccountSchema, ObjectType
from crmbatch.core.schema.service import unique_kind
from crmbatch.core.values import identifier_of

#: names the item at a position of the batch in messages (a group of processes names the
#: process and the item within it)
Origin = Callable[[int], str]


#: the keys of a command :meth:`Batch._simple` applies (with attributes checked at accept)
_SIMPLE = frozenset({"ext_id", "attributes", "warnings"})


def _held(rec: Rec, kind: str) -> Any:
    """The value a record holds for an identifier kind (its ext_id, or a channel attribute)."""
    return rec.ext_id if kind == "ext_id" else rec.attributes.get(kind)


def _check_ext_id(ext_id: str) -> None:
    if len(ext_id) > MAX_IDENTIFIER:
        raise Failure(
            "invalid_value",
            "identifiers.ext_id",
            f"ext_id is longer than {MAX_IDENTIFIER} characters",
        )


def _failed(index: int, c: dict[str, Any], f: Failure, warnings: list[Problem]) -> Result:
    """A command that failed, with the identifiers it named (so the caller can tell which)."""
    failed = Result(index, "failed", c.get("id"), c.get("ext_id"), f.errors)
    failed.warnings = cap_warnings(warnings)
    return failed


def _applied(
    index: int, rec: Rec, status: str, warnings: list[Problem], touched: dict[int, Rec]
) -> Result:
    """A command applied to ``rec`` (which the batch's writes now include)."""
    touched[id(rec)] = rec
    if len(warnings) > MAX_WARNINGS:
        warnings = cap_warnings(warnings)
    return Result(index, status, rec.id, rec.ext_id, [], warnings)


#: no stored value (``None`` is never stored: a null clears)
_ABSENT = object()


def _this_batch(index: int) -> str:
    return f"item {index} of this batch"


@dataclass(slots=True)
class Rec:
    id: int  # negative while new: replaced by a reserved id before writing
    ext_id: str | None
    attributes: dict[str, Any]
    is_new: bool
    archived: bool = False
    dirty: bool = False
    #: the ext_id stored before this batch (None for new records)
    stored_ext_id: str | None = None
    #: the position of the command that created it (new records)
    created_by: int | None = None
    #: (index of the command, the attributes it changed), one per change
    changes: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


class Batch:
    """The state a batch walks over: what it read, and what it has done so far in memory."""

    def __init__(
        self,
        conn: Connection,
        schema: AccountSchema,
        t: ObjectType,
        commands: list[dict[str, Any]],
        *,
        strict: bool = False,
        origin: Origin = _this_batch,
    ) -> None:
        self.conn = conn
        self.schema = schema
        self.t = t
        self.commands = commands
        #: an attribute the type does not define fails the command instead of being ignored
        self.strict = strict
        self.origin = origin
        self.by_id: dict[int, Rec] = {}
        self.by_ext: dict[str, Rec] = {}
        #: (kind, normalised value) → record id, as it stands now in this batch
        self.owners: dict[tuple[str, str], int] = {}
        #: the same, as it stood in the database before the batch (for the identifier diff)
        self.initial_owners: dict[tuple[str, str], int] = {}
        self.targets: dict[str, tuple[dict[int, int], dict[str, int]]] = {}
        #: (record, other) → the link's labels, both directions, as it stands now in this batch
        self.links: dict[tuple[int, int], frozenset[int]] = {}
        self.initial_links: dict[tuple[int, int], frozenset[int]] = {}
        self.next_temp = -1
        #: each unique attribute's key → its identifiers-table kind
        self.unique = {a.key: unique_kind(a.key) for a in t.unique_attributes}
        self._pairs: dict[tuple[str, Any], tuple[str, str]] = {}

    # -- bulk reads --------------------------------------------------------------------------

    def load(self) -> None:
        """Read what the commands touch (see :mod:`crmbatch.core.records.reads`)."""
        reads.load(self)

    def loaded(self, rows: list[tuple[int, str | None, dict[str, Any], bool]]) -> None:
        """Take in records read from the database, and the unique values they hold."""
        for rid, ext, attrs, archived in rows:
            if rid in self.by_id:
                continue
            rec = Rec(rid, ext, attrs, is_new=False, archived=archived, stored_ext_id=ext)
            self.by_id[rid] = rec
            if ext is not None:
                self.by_ext[ext] = rec
            for key in self.unique:  # the identifiers table mirrors these values
                value = attrs.get(key)
                if value is not None:
                    self.initial_owners[self.pair(key, value)] = rid

    def pair(self, key: str, value: Any) -> tuple[str, str]:
        """Where a unique value of ``key`` is indexed: (kind, normalised value); remembered, as
        identity resolution asks for the same ones several times per item."""
        try:
            return self._pairs[(key, value)]
        except KeyError:
            pass
        except TypeError:  # an unhashable value (it cannot be unique): worked out each time
            return unique_kind(key), identifier_of(self.t.attributes.get(key), value)
        found = self._pairs[(key, value)] = (
            unique_kind(key),
            identifier_of(self.t.attributes.get(key), value),
        )
        return found

    # -- naming ------------------------------------------------------------------------------

    def label(self, rec: Rec) -> str:
        """A record as messages name it: its id, or, for one this batch creates (it has no id
        yet), the item that creates it and its ext_id."""
        if not rec.is_new or rec.created_by is None:
            return f"{self.t.name} record {rec.id}"
        text = f"the {self.t.name} record created by {self.origin(rec.created_by)}"
        return text + (f" (ext_id {rec.ext_id!r})" if rec.ext_id is not None else "")

    # -- the walk ----------------------------------------------------------------------------

    def _new(self, ext_id: str | None, index: int) -> Rec:
        rec = Rec(self.next_temp, ext_id, {}, is_new=True, created_by=index)
        self.next_temp -= 1
        return rec

    def _target(self, c: dict[str, Any], index: int) -> Rec:
        """The record a command applies to (new or existing), by the identifier rules."""
        ext_id = c.get("ext_id")
        if ext_id is not None:
            _check_ext_id(ext_id)
        rec = self._resolve(c, index)
        if ext_id is not None and ext_id != rec.ext_id:
            holder = self.by_ext.get(ext_id)
            if holder is not None and holder is not rec:  # an ext_id is never taken over
                raise Failure(
                    "ext_id_taken",
                    "identifiers.ext_id",
                    f"ext_id {ext_id!r} already belongs to {self.label(holder)}",
                )
        return rec

    def _resolve(self, c: dict[str, Any], index: int) -> Rec:
        if c.get("id") is not None:
            rec = self.by_id.get(c["id"])
            if rec is None:
                raise Failure(
                    "record_not_found",
                    "identifiers.id",
                    f"no {self.t.name} record has id {c['id']}; use ext_id to create records",
                )
            return rec
        if c.get("match"):
            key, value = c["match"]
            owner = self.owners.get(self.pair(key, value))
            if owner is not None:
                rec = self.by_id[owner]
                if c.get("ext_id") is not None and rec.ext_id not in (None, c["ext_id"]):
                    raise Failure(
                        "identifier_conflict",
                        "identifiers.ext_id",
                        f"{key}={value!r} matches {self.label(rec)}, whose ext_id is "
                        f"{rec.ext_id!r}",
                    )
                return rec
            if c.get("update_only"):
                raise Failure(
                    "record_not_found",
                    f"identifiers.{key}",
                    f"no {self.t.name} record has {key} {value!r}",
                )
        if c.get("ext_id") is not None:
            return self.by_ext.get(c["ext_id"]) or self._new(c["ext_id"], index)
        return self._new(None, index)

    def _owner(self, kind: str, value: Any) -> Rec | None:
        if kind == "ext_id":
            return self.by_ext.get(value)
        owner = self.owners.get(self.pair(kind, value))
        return None if owner is None else self.by_id.get(owner)

    def _contact_label(self, rec: Rec) -> Any:
        """A contact as identity warnings name it: its id, or the item that creates it."""
        return rec.id if not rec.is_new else self.label(rec)

    def _identify(
        self, c: dict[str, Any], attrs: dict[str, Any], index: int
    ) -> tuple[Rec, dict[str, Any], dict[str, Any], list[Problem]]:
        """The contact a command's identity names (see :mod:`crmbatch.core.contacts.identity`),
        the command and attributes that give it the identifiers it claims, and the warnings."""
        try:
            found = identity.resolve(
                c["identify"],
                by_id=self.by_id.get,
                owner=self._owner,
                held=_held,
                label=self._contact_label,
                replace=bool(c.get("replace_identifiers")),
            )
        except identity.ContactNotFound as e:
            raise Failure("contact_not_found", "identifiers.id", str(e)) from None
        mode = c.get("mode") or "upsert"
        if found.contact is None and mode == "update":
            shown = ", ".join(f"{k} {v!r}" for k, v in c["identify"].items())
            raise Failure("contact_not_found", "identifiers", f"no contact has {shown}")
        if found.contact is not None and mode in ("create", "new_only"):
            code = "contact_exists" if mode == "new_only" else "duplicate_contact"
            raise Failure(
                code,
                f"identifiers.{found.matched_by}",
                f"contact {found.contact.id} already has this {found.matched_by}",
            )
        rec = found.contact if found.contact is not None else self._new(None, index)
        ext_id = found.claims.pop("ext_id", None)
        command = {**c, "ext_id": ext_id}
        # what the item sets explicitly wins over identifiers given only to find the contact
        return rec, command, {**found.claims, **attrs}, found.warnings

    def _checked(self, c: dict[str, Any], checker: AttributeChecker) -> Checked:
        """The command's attributes, checked, with what accept warned about first."""
        attrs = c.get("attributes") or {}
        if len(attrs) > MAX_ATTRIBUTES:
            raise Failure(
                "too_many_attributes",
                "attributes",
                f"at most {MAX_ATTRIBUTES} attributes per record (got {len(attrs)})",
            )
        checked = checker.check(attrs)
        checked.warnings[:0] = c.get("warnings") or []
        errors = [
            error("invalid_value", f"attributes.{key}", f"{key}: {msg}")
            for key, msg in checked.problems
        ]
        if self.strict:
            unknown = [w for w in checked.warnings if w["code"] == "unknown_attribute"]
            errors += [
                error(
                    "unknown_attribute",
                    f"attributes.{w['field']}",
                    w["message"].replace(" and was ignored", "")
                    + (f"; did you mean {w['suggestion']!r}?" if w.get("suggestion") else ""),
                )
                for w in unknown
            ]
            checked.warnings = [w for w in checked.warnings if w["code"] != "unknown_attribute"]
        if errors:
            raise Invalid(errors)
        return checked

    def run(self, prechecked: bool) -> tuple[Outcome, list[Rec]]:
        """Walk the commands in order against the loaded state; nothing is written yet."""
        checker = AttributeChecker(self.t)
        results: list[Result] = []
        touched: dict[int, Rec] = {}
        for index, c in enumerate(self.commands):
            if prechecked and c.keys() <= _SIMPLE:
                results.append(self._simple(index, c, touched))
                continue
            if prechecked and c.get("identify") is not None:
                made = self._new_contact(index, c, touched)
                if made is not None:
                    results.append(made)
                    continue
            given = c.get("warnings")
            warnings: list[Problem] = list(given) if given else []
            try:
                if c.get("reject") is not None:
                    raise Invalid([c["reject"]])
                if prechecked:  # checked at accept against this very schema
                    attrs = c.get("attributes") or {}
                else:
                    checked = self._checked(c, checker)
                    warnings = checked.warnings
                    attrs = checked.attributes
                if c.get("identify") is not None:
                    rec, c, attrs, found = self._identify(c, attrs, index)
                    warnings = warnings + found
                else:
                    rec = self._target(c, index)
                link_ops = links.operations(self, rec, c) if c.get("associations") else []
                claims = self._unique_claims(rec, attrs, c, warnings) if self.unique else None
            except Failure as f:
                results.append(_failed(index, c, f, warnings))
                continue
            status = self._merge(index, rec, attrs, c, claims, link_ops)
            results.append(_applied(index, rec, status, warnings, touched))
        return Outcome(results), list(touched.values())

    def _simple(self, index: int, c: dict[str, Any], touched: dict[int, Rec]) -> Result:
        """:meth:`run`'s step for the commonest command, the same rules in fewer steps: found by
        its ext_id or created, with attributes checked at accept and no associations."""
        attrs = c.get("attributes") or {}
        given = c.get("warnings")
        warnings: list[Problem] = list(given) if given else []
        ext_id = c.get("ext_id")
        try:
            if ext_id is None:
                rec = self._new(None, index)
            else:
                _check_ext_id(ext_id)
                rec = self.by_ext.get(ext_id) or self._new(ext_id, index)
            claims = self._unique_claims(rec, attrs, c, warnings) if self.unique else None
        except Failure as f:
            return _failed(index, c, f, warnings)
        status = self._merge(index, rec, attrs, c, claims, [])
        return _applied(index, rec, status, warnings, touched)

    def _new_contact(self, index: int, c: dict[str, Any], touched: dict[int, Rec]) -> Result | None:
        """:meth:`run`'s step for the commonest contact command, the same rules in fewer steps: a
        contact named by identifiers nobody holds, created with all of them (rule 3 of
        :mod:`crmbatch.core.contacts.identity`), its attributes checked at accept. ``None`` for
        any other command: the general step takes it."""
        named = c["identify"]
        if "id" in named or c.get("mode") == "update" or c.get("reject") is not None:
            return None
        if any(self._owner(kind, value) is not None for kind, value in named.items()):
            return None
        command = {**c, "ext_id": named.get("ext_id")}
        given = c.get("warnings")
        warnings: list[Problem] = list(given) if given else []
        # the identifiers first, in the order identity resolution gives them; what the item
        # sets explicitly wins over identifiers given only to find the contact
        attrs = {k: named[k] for k in identity.PRECEDENCE if k in named and k != "ext_id"}
        attrs.update(c.get("attributes") or {})
        rec = self._new(None, index)
        try:
            claims = self._unique_claims(rec, attrs, command, warnings) if self.unique else None
        except Failure as f:
            return _failed(index, command, f, warnings)
        status = self._merge(index, rec, attrs, command, claims, [])
        return _applied(index, rec, status, warnings, touched)

    def link_targets(self) -> list[int]:
        """Records of other types that the planned writes link to."""
        own = set(self.by_id)
        made = self.links.keys() - self.initial_links.keys()
        return sorted({b for a, b in made if a in own and b not in own})

    def _unique_claims(
        self, rec: Rec, attrs: dict[str, Any], c: dict[str, Any], warnings: list[Problem]
    ) -> dict[str, str | None]:
        """Unique attribute key → its new normalised value (None: cleared).

        A value another record holds fails the command; for an identified contact it is dropped
        with a warning instead (its other changes still apply, and nothing is stolen).
        """
        claims: dict[str, str | None] = {}
        match = c.get("match")
        for key, kind in self.unique.items():
            if key in attrs:
                value = attrs[key]
            elif match and match[0] == key:
                value = match[1]
            else:
                continue
            if value is None:
                claims[key] = None
                continue
            norm = self.pair(key, value)[1]
            if len(norm) > MAX_IDENTIFIER:
                raise Failure(
                    "invalid_value",
                    f"attributes.{key}",
                    f"{key}: a unique value is at most {MAX_IDENTIFIER} characters "
                    f"(got {len(norm)})",
                )
            owner = self.owners.get((kind, norm))
            if owner is not None and owner != rec.id:
                message = f"{key} {value!r} already belongs to {self.label(self.by_id[owner])}"
                if c.get("identify") is None:
                    raise Failure("unique_violation", f"attributes.{key}", message)
                del attrs[key]
                warnings.append(
                    problem(
                        "unique_violation",
                        f"attributes.{key}",
                        f"{message}; it was not applied",
                    )
                )
                continue
            claims[key] = norm
        return claims

    def _merge(
        self,
        index: int,
        rec: Rec,
        attrs: dict[str, Any],
        c: dict[str, Any],
        claims: dict[str, str | None] | None,
        link_ops: list[links.LinkOp],
    ) -> str:
        if c.get("match"):
            key, value = c["match"]
            if key not in attrs:
                attrs = {**attrs, key: value}
        if claims:
            self._claim(rec, claims)
        changes = self._change(rec, attrs)
        ext_changed = False
        if c.get("ext_id") is not None and rec.ext_id != c["ext_id"]:
            if rec.ext_id is not None:
                self.by_ext.pop(rec.ext_id, None)
            rec.ext_id = c["ext_id"]
            ext_changed = True
        if rec.ext_id is not None:
            self.by_ext[rec.ext_id] = rec
        self.by_id[rec.id] = rec
        links_changed = bool(link_ops) and links.apply(self.links, rec.id, link_ops)
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

    def _claim(self, rec: Rec, claims: dict[str, str | None]) -> None:
        """Move the record's unique values to the ones it claims."""
        for key, norm in claims.items():
            kind = self.unique[key]
            old = rec.attributes.get(key)
            if old is not None:
                old_pair = self.pair(key, old)
                if old_pair[1] != norm and self.owners.get(old_pair) == rec.id:
                    del self.owners[old_pair]
            if norm is not None:
                self.owners[(kind, norm)] = rec.id

    @staticmethod
    def _change(rec: Rec, attrs: dict[str, Any]) -> dict[str, Any]:
        """Merge ``attrs`` into the record; return what changed (``None``: cleared)."""
        if rec.is_new and not rec.attributes:  # nothing to compare with
            if None in attrs.values():
                changes = {k: v for k, v in attrs.items() if v is not None}
            else:  # the usual case: the command's attributes are the change (never mutated)
                changes = attrs
            rec.attributes = dict(changes)
            return changes
        changes = {}
        stored = rec.attributes
        for key, value in attrs.items():
            if value is None:
                if key in stored:
                    del stored[key]
                    changes[key] = None
                continue
            old = stored.get(key, _ABSENT)
            if old is _ABSENT or old != value or type(old) is not type(value):
                stored[key] = value
                changes[key] = value
        return changes


@dataclass
class Plan:
    """An upsert computed against a snapshot, not yet written (see :func:`plan_upsert`)."""

    batch: Batch
    outcome: Outcome
    touched: list[Rec]
    fingerprint: str
    associations: frozenset[str]
    #: the association labels the schema had (a plan that names a label since deleted is stale)
    labels: frozenset[int]

    def preview(self) -> Outcome:
        """The outcome as a dry run shows it: records not yet created have no id."""
        return Outcome(
            [
                Result(r.index, r.status, _real(r.id), r.ext_id, r.errors, r.warnings)
                for r in self.outcome.results
            ]
        )


def _real(record_id: int | None) -> int | None:
    return record_id if record_id is not None and record_id > 0 else None


def plan_upsert(
    conn: Connection,
    schema: AccountSchema,
    object_type: ObjectType,
    commands: list[dict[str, Any]],
    *,
    prechecked: bool = False,
    strict: bool = False,
    origin: Origin = _this_batch,
) -> Plan:
    """Read what the batch touches and compute its outcome, writing nothing.

    Safe to run outside the write lock because only the worker that owns a partition's running
    process writes that partition; :func:`crmbatch.core.records.write.write_upsert` re-checks
    what lies outside it.
    """
    batch = Batch(conn, schema, object_type, commands, strict=strict, origin=origin)
    batch.load()
    outcome, touched = batch.run(prechecked)
    return Plan(
        batch,
        outcome,
        touched,
        object_type.fingerprint(),
        frozenset(object_type.associations),
        frozenset(schema.labels),
    )
