"""Every table of crmbatch, in one place (SQLAlchemy Core).

Every table leads with ``account_id`` (directly or through its parent) so that each query is scoped
by tenant and the account is a natural shard key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

#: a 64-bit id that is still SQLite's rowid alias (so it autoincrements there)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
#: JSON that is JSONB on PostgreSQL (queried and merged in place)
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
#: JSON kept as text (written once, read whole): no JSONB parse on every accept
Document = sa.JSON()


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC on both backends (SQLite hands back naive datetimes otherwise)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


Ts = UtcDateTime()

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("webhook_secret", sa.String(128), nullable=False),
    sa.Column("created_at", Ts, nullable=False),
    #: bumped by every schema change: processes cache an account's schema until it moves
    sa.Column("schema_version", sa.Integer, nullable=False, server_default="0"),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("account_id", BigId, sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("prefix", sa.String(16), nullable=False, index=True),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", Ts, nullable=False),
    sa.Column("revoked_at", Ts, nullable=True),
)

object_types = sa.Table(
    "object_types",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("account_id", BigId, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("name", sa.String(32), nullable=False),
    sa.Column("label", sa.String(255), nullable=False),
    sa.Column("primary_attribute", sa.String(255), nullable=True),
    sa.Column("is_system", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", Ts, nullable=False),
    sa.Column("updated_at", Ts, nullable=False),
    #: presentation settings of the schema document (plural label, searchable and secondary
    #: attributes, property groups); ``NULL``: none given
    sa.Column("settings", Document, nullable=True),
    sa.UniqueConstraint("account_id", "name"),
)

attributes = sa.Table(
    "attributes",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("account_id", BigId, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("object_type_id", BigId, sa.ForeignKey("object_types.id"), nullable=False),
    sa.Column("key", sa.String(255), nullable=False),
    sa.Column("label", sa.String(255), nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("is_unique", sa.Boolean, nullable=False, default=False),
    sa.Column("options", Json, nullable=True),
    sa.Column("position", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", Ts, nullable=False),
    sa.UniqueConstraint("object_type_id", "key"),
)

association_defs = sa.Table(
    "association_defs",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("account_id", BigId, sa.ForeignKey("accounts.id"), nullable=False),
    # stored once per pair, with type_a_id <= type_b_id
    sa.Column("type_a_id", BigId, sa.ForeignKey("object_types.id"), nullable=False),
    sa.Column("type_b_id", BigId, sa.ForeignKey("object_types.id"), nullable=False),
    sa.Column("created_at", Ts, nullable=False),
    sa.UniqueConstraint("type_a_id", "type_b_id"),
)

#: named kinds of link between the records of one associated pair of types (HubSpot's
#: association labels). A label reads ``label`` from ``from_type_id``'s side and
#: ``inverse_label`` (when given: a paired label) from the other side.
association_labels = sa.Table(
    "association_labels",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("account_id", BigId, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("def_id", BigId, sa.ForeignKey("association_defs.id"), nullable=False),
    sa.Column("from_type_id", BigId, sa.ForeignKey("object_types.id"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("label", sa.String(255), nullable=False),
    sa.Column("inverse_label", sa.String(255), nullable=True),
    sa.Column("created_at", Ts, nullable=False),
    sa.UniqueConstraint("def_id", "name"),
)

records = sa.Table(
    "records",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("account_id", BigId, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("object_type_id", BigId, sa.ForeignKey("object_types.id"), nullable=False),
    sa.Column("ext_id", sa.String(255), nullable=True),
    sa.Column("attributes", Json, nullable=False),
    sa.Column("created_at", Ts, nullable=False),
    sa.Column("updated_at", Ts, nullable=False),
    sa.Column("archived_at", Ts, nullable=True),
    sa.UniqueConstraint("object_type_id", "ext_id"),
    sa.Index("ix_records_type_id", "object_type_id", "id"),
    sqlite_autoincrement=True,
)

#: identifier values that resolve to a record: unique attribute values (kind ``attr:<key>``) and,
#: for contacts, their channels. One row per (type, kind, value): the database enforces uniqueness.
identifiers = sa.Table(
    "identifiers",
    metadata,
    sa.Column("object_type_id", BigId, sa.ForeignKey("object_types.id"), primary_key=True),
    sa.Column("kind", sa.String(300), primary_key=True),
    sa.Column("value", sa.String(1024), primary_key=True),
    sa.Column("record_id", BigId, nullable=False, index=True),
    sa.Column("account_id", BigId, nullable=False),
)

#: symmetric: a link is stored in both directions so either side reads it with one index
associations = sa.Table(
    "associations",
    metadata,
    sa.Column("record_id", BigId, primary_key=True),
    sa.Column("other_record_id", BigId, primary_key=True),
    sa.Column("other_type_id", BigId, nullable=False),
    sa.Column("account_id", BigId, nullable=False),
    sa.Column("created_at", Ts, nullable=False),
    #: the labels the link carries (ids of ``association_labels``, ascending, comma-separated,
    #: the same in both directions); ``NULL``: none, the plain link every dialect makes
    sa.Column("labels", sa.String(1024), nullable=True),
    sa.Index("ix_associations_record_type", "record_id", "other_type_id", "other_record_id"),
)

#: one row per change of a record: the attributes it set (``null`` = cleared)
record_history = sa.Table(
    "record_history",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("account_id", BigId, nullable=False),
    sa.Column("record_id", BigId, nullable=False),
    sa.Column("process_id", BigId, nullable=True),
    sa.Column("changed_at", Ts, nullable=False),
    sa.Column("changes", Json, nullable=False),
    sa.Index("ix_record_history_record", "record_id", "id"),
)

processes = sa.Table(
    "processes",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("account_id", BigId, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("dialect", sa.String(32), nullable=False),
    sa.Column("object_type", sa.String(32), nullable=True),
    #: batches with the same partition apply one at a time, in id order
    sa.Column("partition_key", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("idempotency_key", sa.String(255), nullable=True),
    sa.Column("request_hash", sa.String(64), nullable=True),
    sa.Column("notify_url", sa.String(2048), nullable=True),
    sa.Column("received", sa.Integer, nullable=False, default=0),
    sa.Column("counts", Json, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("requested_at", Ts, nullable=False),
    sa.Column("started_at", Ts, nullable=True),
    sa.Column("completed_at", Ts, nullable=True),
    sa.Column("worker_id", sa.String(64), nullable=True),
    sa.Column("lease_until", Ts, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    #: a part of a larger process (an import): applied on its own, in order, and joined into
    #: that process, which is applied after its last part
    sa.Column("parent_id", BigId, nullable=True),
    #: how many of its items were not applied (failed or skipped), and how many carry warnings
    #: (``NULL``: not completed, or completed before crmbatch counted warnings)
    sa.Column("unapplied", sa.Integer, nullable=True),
    sa.Column("warned", sa.Integer, nullable=True),
    sa.UniqueConstraint("account_id", "idempotency_key"),
    sa.Index("ix_processes_status_partition", "status", "partition_key", "id"),
    sa.Index("ix_processes_account", "account_id", "id"),
    sa.Index("ix_processes_parent_id", "parent_id"),
    #: what the console's activity chart reads, all in the index (no process row is read)
    sa.Index(
        "ix_processes_account_completed",
        "account_id",
        "completed_at",
        "parent_id",
        "status",
        "received",
        "unapplied",
    ),
    #: the few processes with failures, and with warnings, newest first (the console's filters:
    #: read through the account's index, every process row would be read)
    sa.Index(
        "ix_processes_failures",
        "account_id",
        "id",
        sqlite_where=sa.text("unapplied > 0 OR status = 'failed'"),
        postgresql_where=sa.text("unapplied > 0 OR status = 'failed'"),
    ),
    sa.Index(
        "ix_processes_warned",
        "account_id",
        "id",
        sqlite_where=sa.text("warned > 0"),
        postgresql_where=sa.text("warned > 0"),
    ),
    sqlite_autoincrement=True,
)

#: what a process applies, written once at accept and read by the workers: apart from the
#: process row, which its claim and completion update (on SQLite an update that changes a row's
#: size rewrites the whole row, so a payload in it was written again twice per process)
process_payloads = sa.Table(
    "process_payloads",
    metadata,
    sa.Column("process_id", BigId, sa.ForeignKey("processes.id"), primary_key=True),
    sa.Column("payload", Document, nullable=False),
)

process_results = sa.Table(
    "process_results",
    metadata,
    sa.Column("process_id", BigId, sa.ForeignKey("processes.id"), primary_key=True),
    sa.Column("results", Document, nullable=False),
)

#: what contacts did (Brevo's custom events); written once, read by account or contact, newest
#: first. Two indexes only: each costs as much as the row on the hot insert (benchmarks/).
events = sa.Table(
    "events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("account_id", BigId, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("contact_id", BigId, nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("event_date", Ts, nullable=False),
    sa.Column("properties", Document, nullable=False),
    sa.Column("contact_properties", Document, nullable=True),
    #: the custom-object record the event refers to, when it existed
    sa.Column("object_type", sa.String(32), nullable=True),
    sa.Column("object_record_id", BigId, nullable=True),
    sa.Column("process_id", BigId, nullable=True),
    sa.Column("created_at", Ts, nullable=False),
    sa.Index("ix_events_account_date", "account_id", "event_date", "id"),
    sa.Index("ix_events_contact_date", "contact_id", "event_date", "id"),
    sqlite_autoincrement=True,
)

#: folders of contact lists (Brevo's): every list is in one
folders = sa.Table(
    "folders",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("account_id", BigId, sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("created_at", Ts, nullable=False),
    sqlite_autoincrement=True,
)

#: contact lists: ``id`` is Brevo's integer list id, ``uuid`` the id MainBrainer and /v1 use
lists = sa.Table(
    "lists",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("account_id", BigId, sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("created_at", Ts, nullable=False),
    #: the folder it is filed in (``NULL`` only before migration 0009 gave every list one)
    sa.Column("folder_id", BigId, sa.ForeignKey("folders.id"), nullable=True, index=True),
    sqlite_autoincrement=True,
)

list_members = sa.Table(
    "list_members",
    metadata,
    sa.Column("list_id", BigId, sa.ForeignKey("lists.id"), primary_key=True),
    sa.Column("contact_id", BigId, primary_key=True),
    sa.Column("account_id", BigId, nullable=False),
    sa.Column("added_at", Ts, nullable=False),
    sa.Index("ix_list_members_contact", "contact_id", "list_id"),
)

#: the webhook outbox: one row per announcement of a completed process, written in the
#: transaction that completes it, sent (and retried) by the workers until a 2xx or its deadline
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    #: X-Crmbatch-Delivery: the same on every attempt, so receivers can drop repeats
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("account_id", BigId, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("process_id", BigId, sa.ForeignKey("processes.id"), nullable=False, index=True),
    sa.Column("url", sa.String(2048), nullable=False),
    #: rendered once, when the process completed: every attempt sends (and signs) the same bytes
    sa.Column("body", sa.LargeBinary, nullable=False),
    #: pending → delivered | failed (gave up at its deadline)
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    #: when it is next due; a sender pushes it forward while it sends (its lease)
    sa.Column("next_attempt_at", Ts, nullable=False),
    sa.Column("deadline", Ts, nullable=False),
    sa.Column("last_status", sa.Integer, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("last_attempt_at", Ts, nullable=True),
    sa.Column("delivered_at", Ts, nullable=True),
    sa.Column("created_at", Ts, nullable=False),
    sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    sa.Index("ix_webhook_deliveries_account", "account_id", "id"),
    sqlite_autoincrement=True,
)
