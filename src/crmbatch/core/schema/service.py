"""Apply a schema document to an account (idempotently) and export it back."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection, Engine

from crmbatch.core import clock
from crmbatch.core.errors import Conflict, CrmError, InvalidInput, NotFound
from crmbatch.core.schema import store
from crmbatch.core.schema.document import AttributeSpec, TypeSpec, export_document, parse_document
from crmbatch.core.schema.model import (
    SYSTEM_PAIRS,
    SYSTEM_PRIMARY,
    SYSTEM_TYPES,
    AccountSchema,
    ObjectType,
)
from crmbatch.core.search import store as search_store
from crmbatch.core.values import identifier_value


def unique_kind(key: str) -> str:
    """The identifiers-table kind under which a unique attribute's values are kept."""
    return f"attr:{key}"


def ensure_system_types(conn: Connection, account_id: int) -> None:
    """Give the account its system types and the associations between them."""
    schema = store.load(conn, account_id)
    at = clock.now()
    changed = False
    for name in SYSTEM_TYPES:
        if name not in schema.types:
            primary = SYSTEM_PRIMARY.get(name)
            store.insert_type(conn, account_id, name, name.capitalize(), primary, True, at)
            changed = True
    schema = store.load(conn, account_id)
    for a, b in SYSTEM_PAIRS:
        if b not in schema.types[a].associations:
            store.insert_association_def(
                conn, account_id, schema.types[a].id, schema.types[b].id, at
            )
            changed = True
    if changed:
        store.bump_version(conn, account_id)


#: engine → account → (schema version, schema): one small query instead of loading the whole
#: schema on every request and every batch. Entries are shared: treat them as read-only.
_CACHE: weakref.WeakKeyDictionary[Engine, dict[int, tuple[int, AccountSchema]]] = (
    weakref.WeakKeyDictionary()
)


def load(conn: Connection, account_id: int) -> AccountSchema:
    """The account's schema as of this transaction (cached until a change bumps its version)."""
    per_account = _CACHE.setdefault(conn.engine, {})
    current = store.version(conn, account_id)
    cached = per_account.get(account_id)
    if cached is not None and cached[0] == current:
        return cached[1]
    schema = store.load(conn, account_id)
    per_account[account_id] = (current, schema)
    return schema


def export(conn: Connection, account_id: int) -> dict[str, Any]:
    return export_document(store.load(conn, account_id))


def _options_changed(old: Any, spec: AttributeSpec) -> bool:
    return [(o.key, o.label) for o in old.options] != spec.options


def apply(
    conn: Connection, account_id: int, document: Any, *, allow_destructive: bool = False
) -> list[str]:
    """Make the account's schema equal to ``document``; return what changed, one line each.

    Adds and changes freely. Removing a type or attribute, or changing an attribute's type, on an
    object type that holds records needs ``allow_destructive``. A system type left out of the
    document is left as it is.
    """
    specs = parse_document(document)
    store.lock(conn, account_id)
    schema = store.load(conn, account_id)
    at = clock.now()
    changes: list[str] = []
    guarded: list[tuple[str, str]] = []

    def destructive(type_id: int, where: str, what: str) -> bool:
        if allow_destructive or store.count_records(conn, type_id) == 0:
            return True
        guarded.append((where, f"{what} would lose data; use --allow-destructive"))
        return False

    for name, t in list(schema.types.items()):
        if (
            name not in specs
            and not t.is_system
            and destructive(t.id, f"object_types.{name}", f"removing type {name!r}")
        ):
            store.delete_type(conn, t.id)
            changes.append(f"- type {name}")
            del schema.types[name]

    for name, spec in specs.items():
        current = schema.types.get(name)
        settings = _stored_settings(spec)
        if current is None:
            type_id = store.insert_type(
                conn, account_id, name, spec.label, spec.primary_attribute, False, at
            )
            if settings:
                store.update_type(conn, type_id, at, settings=settings)
            changes.append(f"+ type {name}")
            old_attrs: dict[str, Any] = {}
        else:
            type_id = current.id
            old_attrs = {k: a for k, a in current.attributes.items() if not a.builtin}
            if (current.label, current.primary_attribute) != (spec.label, spec.primary_attribute):
                store.update_type(
                    conn, type_id, at, label=spec.label, primary_attribute=spec.primary_attribute
                )
                changes.append(f"~ type {name}")
            if current.settings != settings:
                store.update_type(conn, type_id, at, settings=settings or None)
                changes.append(f"~ type {name} settings")
        _apply_attributes(
            conn, account_id, type_id, name, spec, old_attrs, at, changes, destructive
        )

    schema = store.load(conn, account_id)
    _apply_associations(conn, account_id, schema, specs, at, changes)
    if guarded:
        raise InvalidInput(guarded)
    for name in specs:
        changes += _sync_search_indexes(conn, schema.types[name])
    if changes:
        store.bump_version(conn, account_id)
    return changes


def _sync_search_indexes(conn: Connection, t: ObjectType) -> list[str]:
    """A type's searchable attributes are indexed for filters and sorts (see
    :mod:`crmbatch.core.search.store`); only those the schema names, as each index costs every
    write of the type a little."""
    return search_store.sync_indexes(conn, t.id, t.indexed)


def _stored_settings(spec: TypeSpec) -> dict[str, Any]:
    """A type's settings as stored: the document's, and which group each attribute is in."""
    settings = dict(spec.settings)
    groups = {k: a.group for k, a in spec.attributes.items() if a.group is not None}
    if groups:
        settings["attribute_groups"] = groups
    return settings


def _apply_attributes(
    conn: Connection,
    account_id: int,
    type_id: int,
    type_name: str,
    spec: TypeSpec,
    old_attrs: dict[str, Any],
    at: Any,
    changes: list[str],
    destructive: Any,
) -> None:
    for key, old in old_attrs.items():
        if key not in spec.attributes and destructive(
            type_id, f"object_types.{type_name}.attributes.{key}", f"removing attribute {key!r}"
        ):
            store.delete_attribute(conn, old.id)
            if old.unique:
                store.drop_identifier_kind(conn, type_id, unique_kind(key))
            changes.append(f"- attribute {type_name}.{key}")
    for position, (key, a) in enumerate(spec.attributes.items()):
        old = old_attrs.get(key)
        if old is None:
            store.insert_attribute(
                conn,
                account_id,
                type_id,
                key=key,
                label=a.label,
                type=a.type,
                unique=a.unique,
                options=a.options,
                position=position,
                at=at,
            )
            if a.unique:
                _backfill_unique(conn, account_id, type_id, type_name, key, a.type)
            changes.append(
                f"+ attribute {type_name}.{key} ({a.type}{', unique' if a.unique else ''})"
            )
            continue
        if old.type != a.type and not destructive(
            type_id,
            f"object_types.{type_name}.attributes.{key}.type",
            f"changing the type of {key!r} from {old.type} to {a.type}",
        ):
            continue
        if (old.label, old.type, old.unique) != (a.label, a.type, a.unique) or _options_changed(
            old, a
        ):
            store.update_attribute(
                conn, old.id, label=a.label, type=a.type, unique=a.unique, options=a.options
            )
            if old.unique and not a.unique:
                store.drop_identifier_kind(conn, type_id, unique_kind(key))
            if a.unique and not old.unique:
                _backfill_unique(conn, account_id, type_id, type_name, key, a.type)
            changes.append(f"~ attribute {type_name}.{key}")


def _backfill_unique(
    conn: Connection, account_id: int, type_id: int, type_name: str, key: str, kind: str
) -> None:
    seen: dict[str, int] = {}
    rows = []
    for record_id, value in store.attribute_values(conn, type_id, key):
        norm = identifier_value(value, fold_case=kind == "email")
        if norm in seen:
            raise Conflict(
                f"cannot make {type_name}.{key} unique: records {seen[norm]} and {record_id} "
                f"share the value {value!r}",
                field=f"object_types.{type_name}.attributes.{key}.unique",
            )
        seen[norm] = record_id
        rows.append(
            {
                "object_type_id": type_id,
                "kind": unique_kind(key),
                "value": norm,
                "record_id": record_id,
                "account_id": account_id,
            }
        )
    store.insert_identifiers(conn, rows)


def _apply_associations(
    conn: Connection,
    account_id: int,
    schema: AccountSchema,
    specs: dict[str, TypeSpec],
    at: Any,
    changes: list[str],
) -> None:
    wanted: set[frozenset[str]] = set()
    for name, spec in specs.items():
        for other in spec.associations:
            wanted.add(frozenset((name, other)))
    have: set[frozenset[str]] = set()
    for t in schema.types.values():
        for other in t.associations:
            have.add(frozenset((t.name, other)))
    system = {frozenset(p) for p in SYSTEM_PAIRS}  # every account keeps these
    for pair in sorted(have - wanted - system, key=sorted):
        names = sorted(pair) * (2 if len(pair) == 1 else 1)
        # a pair only the document's types can drop: keep links of types it does not mention
        if not any(n in specs for n in names):
            continue
        store.delete_association_def(conn, schema.types[names[0]].id, schema.types[names[1]].id)
        changes.append(f"- association {names[0]} <-> {names[1]}")
    for pair in sorted(wanted - have, key=sorted):
        names = sorted(pair) * (2 if len(pair) == 1 else 1)
        store.insert_association_def(
            conn, account_id, schema.types[names[0]].id, schema.types[names[1]].id, at
        )
        changes.append(f"+ association {names[0]} <-> {names[1]}")


# ---- one change at a time (HubSpot's properties and schemas APIs) ---------------------------
# Each goes through the schema document, so the same rules, checks and backfills apply as for
# `crmbatch schema apply`, and the change shows in `schema export`.


def _document_with(conn: Connection, account_id: int, type_name: str) -> dict[str, Any]:
    store.lock(conn, account_id)  # read, change and write the document as one
    doc = export(conn, account_id)
    if type_name not in doc["object_types"]:
        raise NotFound(f"object type {type_name!r} does not exist", field="objectType")
    return doc


def create_type(conn: Connection, account_id: int, name: str, spec: dict[str, Any]) -> None:
    """Add one object type (with its attributes and associations); :class:`Conflict` when it
    exists."""
    store.lock(conn, account_id)
    doc = export(conn, account_id)
    if name in doc["object_types"]:
        raise Conflict(f"an object type named {name!r} already exists", field="name")
    doc["object_types"][name] = spec
    apply(conn, account_id, doc)


def edit_type(
    conn: Connection,
    account_id: int,
    type_name: str,
    edit: Callable[[dict[str, Any]], None],
    *,
    allow_destructive: bool = False,
) -> list[str]:
    """Change one type's entry of the schema document in place (``edit``) and apply it, as one
    transaction under the schema lock: the same rules and checks as ``crmbatch schema apply``."""
    doc = _document_with(conn, account_id, type_name)
    edit(doc["object_types"][type_name])
    return apply(conn, account_id, doc, allow_destructive=allow_destructive)


def remove_attributes(conn: Connection, account_id: int, type_name: str, keys: list[str]) -> None:
    """Remove attributes from a type (HubSpot's property archive). Records keep their values
    out of sight: an attribute added again with the same key shows them again."""

    def edit(entry: dict[str, Any]) -> None:
        attrs = entry.get("attributes") or {}
        for key in keys:
            if key not in attrs:
                raise NotFound(f"no property {key!r} on {type_name}", field="propertyName")
            if key == entry.get("primary_attribute"):
                raise CrmError(
                    f"{key} is the primary display property of {type_name}; choose another first",
                    field="propertyName",
                )
            del attrs[key]
        for setting in ("required", "searchable", "secondary"):
            if setting in entry:
                entry[setting] = [k for k in entry[setting] if k not in keys]

    edit_type(conn, account_id, type_name, edit, allow_destructive=True)


def delete_type(conn: Connection, account_id: int, type_name: str) -> None:
    """Delete a custom type that holds no live records (archived ones go with it)."""
    store.lock(conn, account_id)
    schema = store.load(conn, account_id)
    t = schema.types.get(type_name)
    if t is None or t.is_system:
        raise NotFound(f"object type {type_name!r} does not exist", field="objectType")
    live = store.count_live_records(conn, t.id)
    if live:
        raise CrmError(
            f"{type_name} still holds {live} records; archive them before deleting the type",
            field="objectType",
        )
    store.delete_type(conn, t.id)
    store.bump_version(conn, account_id)


def add_association(conn: Connection, account_id: int, a: str, b: str) -> None:
    """Define an association between two types (nothing happens when it exists)."""

    def edit(entry: dict[str, Any]) -> None:
        entry["associations"] = sorted({*(entry.get("associations") or []), b})

    edit_type(conn, account_id, a, edit)


def remove_association(conn: Connection, account_id: int, a: str, b: str) -> None:
    """Remove the association between two types; refused while records are linked by it."""
    store.lock(conn, account_id)
    schema = store.load(conn, account_id)
    if b not in schema.types[a].associations:
        raise NotFound(f"no association is defined between {a} and {b}", field="associationId")
    linked = store.count_links(conn, schema.types[a].id, schema.types[b].id)
    if linked:
        raise CrmError(
            f"{linked} {a} records are linked to {b} records; remove those associations first",
            field="associationId",
        )
    store.delete_association_def(conn, schema.types[a].id, schema.types[b].id)
    store.bump_version(conn, account_id)
