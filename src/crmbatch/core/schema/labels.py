"""Association labels: named kinds of link between the records of an associated pair of types
(HubSpot's "Manager"/"Employee"). A label belongs to the schema: creating, renaming or deleting
one is a schema change (serialised per account, and a plan made before it is made again)."""

from __future__ import annotations

import re

from sqlalchemy.engine import Connection

from crmbatch.core import clock
from crmbatch.core.errors import Conflict, CrmError, NotFound
from crmbatch.core.records import store as records_store
from crmbatch.core.schema import store
from crmbatch.core.schema.model import AccountSchema, Label

LABEL_NAME = re.compile(r"^[A-Za-z0-9_\-]{1,100}$")
MAX_LABEL = 255
#: labels one pair of types may have
MAX_LABELS_PER_PAIR = 50


def _pair(schema: AccountSchema, a: str, b: str) -> int:
    found = schema.pairs.get(frozenset((a, b)))
    if found is None:
        raise CrmError(f"no association is defined between {a} and {b}", field="toObjectType")
    return found.id


def _text(value: str | None, field: str, *, required: bool = True) -> str | None:
    if value is None or not value.strip():
        if required:
            raise CrmError(f"{field} is required and cannot be blank", field=field)
        return None
    if len(value) > MAX_LABEL:
        raise CrmError(f"{field} is at most {MAX_LABEL} characters", field=field)
    return value.strip()


def _reload(conn: Connection, account_id: int) -> AccountSchema:
    store.bump_version(conn, account_id)
    return store.load(conn, account_id)


def create(
    conn: Connection,
    account_id: int,
    from_type: str,
    to_type: str,
    *,
    name: str,
    label: str,
    inverse_label: str | None = None,
) -> Label:
    """A new label of the pair, read as ``label`` from ``from_type`` (and as ``inverse_label``,
    when given, from ``to_type``)."""
    store.lock(conn, account_id)
    schema = store.load(conn, account_id)
    def_id = _pair(schema, from_type, to_type)
    if not isinstance(name, str) or not LABEL_NAME.match(name):
        raise CrmError(
            f"name must be 1 to 100 letters, digits, '_' or '-' (got {name!r})", field="name"
        )
    text = _text(label, "label")
    inverse = _text(inverse_label, "inverseLabel", required=False)
    existing = schema.labels_between(from_type, to_type)
    if any(x.name.lower() == name.lower() for x in existing):
        raise Conflict(f"a label named {name!r} exists between {from_type} and {to_type}")
    if len(existing) >= MAX_LABELS_PER_PAIR:
        raise CrmError(f"at most {MAX_LABELS_PER_PAIR} labels per pair of types", field="name")
    label_id = store.insert_label(
        conn,
        account_id,
        def_id,
        schema.types[from_type].id,
        name,
        str(text),
        inverse,
        clock.now(),
    )
    return _reload(conn, account_id).labels[label_id]


def of_pair(schema: AccountSchema, a: str, b: str, label_id: int) -> Label:
    label = schema.labels.get(label_id)
    if label is None or label.pair != frozenset((a, b)):
        raise NotFound(
            f"association label {label_id} does not exist between {a} and {b}",
            field="associationTypeId",
        )
    return label


def update(
    conn: Connection,
    account_id: int,
    a: str,
    b: str,
    label_id: int,
    *,
    label: str,
    inverse_label: str | None = None,
) -> Label:
    """Rename a label (its name, the key code refers to it by, stays)."""
    store.lock(conn, account_id)
    current = of_pair(store.load(conn, account_id), a, b, label_id)
    changes = {"label": _text(label, "label")}
    if inverse_label is not None:
        changes["inverse_label"] = _text(inverse_label, "inverseLabel", required=False)
    store.update_label(conn, current.id, **changes)
    return _reload(conn, account_id).labels[label_id]


def delete(conn: Connection, account_id: int, a: str, b: str, label_id: int) -> int:
    """Delete a label; the links that carried it stay, without it. How many carried it."""
    store.lock(conn, account_id)
    current = of_pair(store.load(conn, account_id), a, b, label_id)
    carried = records_store.strip_label(conn, account_id, current.id)
    store.delete_label(conn, current.id)
    store.bump_version(conn, account_id)
    return carried
