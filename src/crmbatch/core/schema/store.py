"""SQL for the schema tables. Functions take a Connection; the caller owns the transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crmbatch.core.schema.model import (
    BUILTIN_ATTRIBUTES,
    AccountSchema,
    Attribute,
    Label,
    ObjectType,
    Option,
    Pair,
)
from crmbatch.core.search import store as search_store
from crmbatch.db.tables import (
    accounts,
    association_defs,
    association_labels,
    associations,
    attributes,
    identifiers,
    object_types,
    record_history,
    records,
)


def load(conn: Connection, account_id: int) -> AccountSchema:
    schema = AccountSchema(account_id=account_id)
    by_id: dict[int, ObjectType] = {}
    for row in conn.execute(
        sa.select(object_types).where(object_types.c.account_id == account_id)
    ).mappings():
        t = ObjectType(
            id=row["id"],
            name=row["name"],
            label=row["label"],
            primary_attribute=row["primary_attribute"],
            is_system=row["is_system"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            settings=dict(row["settings"] or {}),
        )
        if t.is_system:
            t.attributes.update({a.key: a for a in BUILTIN_ATTRIBUTES.get(t.name, ())})
        schema.types[t.name] = t
        by_id[t.id] = t
    for row in conn.execute(
        sa.select(attributes)
        .where(attributes.c.account_id == account_id)
        .order_by(attributes.c.position, attributes.c.key)
    ).mappings():
        opts = tuple(Option(o["key"], o["label"]) for o in (row["options"] or []))
        by_id[row["object_type_id"]].attributes[row["key"]] = Attribute(
            id=row["id"],
            key=row["key"],
            label=row["label"],
            type=row["type"],
            unique=row["is_unique"],
            options=opts,
        )
    pairs: dict[int, frozenset[str]] = {}
    for pair in conn.execute(
        sa.select(
            association_defs.c.id,
            association_defs.c.type_a_id,
            association_defs.c.type_b_id,
            association_defs.c.created_at,
        ).where(association_defs.c.account_id == account_id)
    ):
        a, b = by_id[pair.type_a_id], by_id[pair.type_b_id]
        a.associations.add(b.name)
        b.associations.add(a.name)
        pairs[pair.id] = frozenset((a.name, b.name))
        schema.pairs[pairs[pair.id]] = Pair(pair.id, a.name, pair.created_at)
    for row in conn.execute(
        sa.select(association_labels)
        .where(association_labels.c.account_id == account_id)
        .order_by(association_labels.c.id)
    ).mappings():
        schema.labels[row["id"]] = Label(
            id=row["id"],
            pair=pairs[row["def_id"]],
            from_type=by_id[row["from_type_id"]].name,
            name=row["name"],
            label=row["label"],
            inverse_label=row["inverse_label"],
        )
    return schema


def insert_type(
    conn: Connection,
    account_id: int,
    name: str,
    label: str,
    primary: str | None,
    is_system: bool,
    at: datetime,
) -> int:
    return int(
        conn.execute(
            object_types.insert()
            .values(
                account_id=account_id,
                name=name,
                label=label,
                primary_attribute=primary,
                is_system=is_system,
                created_at=at,
                updated_at=at,
            )
            .returning(object_types.c.id)
        ).scalar_one()
    )


def update_type(conn: Connection, type_id: int, at: datetime, **values: Any) -> None:
    conn.execute(
        object_types.update().where(object_types.c.id == type_id).values(updated_at=at, **values)
    )


def delete_type(conn: Connection, type_id: int) -> None:
    search_store.sync_indexes(conn, type_id, {})
    rec_ids = sa.select(records.c.id).where(records.c.object_type_id == type_id)
    conn.execute(
        associations.delete().where(
            sa.or_(associations.c.record_id.in_(rec_ids), associations.c.other_type_id == type_id)
        )
    )
    conn.execute(record_history.delete().where(record_history.c.record_id.in_(rec_ids)))
    conn.execute(identifiers.delete().where(identifiers.c.object_type_id == type_id))
    conn.execute(records.delete().where(records.c.object_type_id == type_id))
    defs = sa.or_(association_defs.c.type_a_id == type_id, association_defs.c.type_b_id == type_id)
    conn.execute(
        association_labels.delete().where(
            association_labels.c.def_id.in_(sa.select(association_defs.c.id).where(defs))
        )
    )
    conn.execute(association_defs.delete().where(defs))
    conn.execute(attributes.delete().where(attributes.c.object_type_id == type_id))
    conn.execute(object_types.delete().where(object_types.c.id == type_id))


def insert_attribute(
    conn: Connection,
    account_id: int,
    type_id: int,
    *,
    key: str,
    label: str,
    type: str,
    unique: bool,
    options: list[tuple[str, str]],
    position: int,
    at: datetime,
) -> str:
    attr_id = str(uuid.uuid4())
    conn.execute(
        attributes.insert().values(
            id=attr_id,
            account_id=account_id,
            object_type_id=type_id,
            key=key,
            label=label,
            type=type,
            is_unique=unique,
            options=[{"key": k, "label": lab} for k, lab in options] or None,
            position=position,
            created_at=at,
        )
    )
    return attr_id


def update_attribute(
    conn: Connection,
    attr_id: str,
    *,
    label: str,
    type: str,
    unique: bool,
    options: list[tuple[str, str]],
) -> None:
    conn.execute(
        attributes.update()
        .where(attributes.c.id == attr_id)
        .values(
            label=label,
            type=type,
            is_unique=unique,
            options=[{"key": k, "label": lab} for k, lab in options] or None,
        )
    )


def delete_attribute(conn: Connection, attr_id: str) -> None:
    conn.execute(attributes.delete().where(attributes.c.id == attr_id))


def insert_association_def(conn: Connection, account_id: int, a: int, b: int, at: datetime) -> None:
    a, b = min(a, b), max(a, b)
    conn.execute(
        association_defs.insert().values(
            account_id=account_id, type_a_id=a, type_b_id=b, created_at=at
        )
    )


def delete_association_def(conn: Connection, a: int, b: int) -> None:
    a, b = min(a, b), max(a, b)
    defs = sa.select(association_defs.c.id).where(
        association_defs.c.type_a_id == a, association_defs.c.type_b_id == b
    )
    conn.execute(association_labels.delete().where(association_labels.c.def_id.in_(defs)))
    conn.execute(
        association_defs.delete().where(
            association_defs.c.type_a_id == a, association_defs.c.type_b_id == b
        )
    )


def count_records(conn: Connection, type_id: int) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(records)
            .where(records.c.object_type_id == type_id)
        ).scalar_one()
    )


def count_live_records(conn: Connection, type_id: int) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(records)
            .where(records.c.object_type_id == type_id, records.c.archived_at.is_(None))
        ).scalar_one()
    )


def count_links(conn: Connection, type_id: int, other_type_id: int) -> int:
    """How many links join records of the two types."""
    return int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(associations)
            .join(records, records.c.id == associations.c.record_id)
            .where(
                records.c.object_type_id == type_id,
                associations.c.other_type_id == other_type_id,
            )
        ).scalar_one()
    )


def attribute_values(conn: Connection, type_id: int, key: str) -> list[tuple[int, Any]]:
    """(record id, value) of every record of the type that holds ``key``."""
    rows = conn.execute(
        sa.select(records.c.id, records.c.attributes).where(records.c.object_type_id == type_id)
    )
    return [(r.id, r.attributes[key]) for r in rows if r.attributes.get(key) is not None]


def drop_identifier_kind(conn: Connection, type_id: int, kind: str) -> None:
    conn.execute(
        identifiers.delete().where(
            identifiers.c.object_type_id == type_id, identifiers.c.kind == kind
        )
    )


def insert_identifiers(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(identifiers.insert(), rows)


def version(conn: Connection, account_id: int) -> int:
    value = conn.execute(
        sa.select(accounts.c.schema_version).where(accounts.c.id == account_id)
    ).scalar()
    return int(value or 0)


def bump_version(conn: Connection, account_id: int) -> None:
    conn.execute(
        accounts.update()
        .where(accounts.c.id == account_id)
        .values(schema_version=accounts.c.schema_version + 1)
    )


def lock(conn: Connection, account_id: int) -> None:
    """Hold the account's schema until this transaction ends: concurrent schema changes of one
    account run one after the other, each reading what the previous one committed (PostgreSQL;
    SQLite has one writer at a time anyway)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(accounts.c.id).where(accounts.c.id == account_id).with_for_update())


def insert_label(
    conn: Connection,
    account_id: int,
    def_id: int,
    from_type_id: int,
    name: str,
    label: str,
    inverse_label: str | None,
    at: datetime,
) -> int:
    return int(
        conn.execute(
            association_labels.insert()
            .values(
                account_id=account_id,
                def_id=def_id,
                from_type_id=from_type_id,
                name=name,
                label=label,
                inverse_label=inverse_label,
                created_at=at,
            )
            .returning(association_labels.c.id)
        ).scalar_one()
    )


def update_label(conn: Connection, label_id: int, **values: Any) -> None:
    conn.execute(
        association_labels.update().where(association_labels.c.id == label_id).values(**values)
    )


def delete_label(conn: Connection, label_id: int) -> None:
    conn.execute(association_labels.delete().where(association_labels.c.id == label_id))
