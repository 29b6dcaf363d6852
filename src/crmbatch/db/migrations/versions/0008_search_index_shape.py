"""PostgreSQL search indexes lead with the attribute's value, not the type

PostgreSQL drops ``object_type_id = <id>`` from the conditions a partial index on that very
predicate implies, so an index led by the type column gave a range on the value no start: every
search read the whole index. SQLite keeps the type in its conditions and its indexes stay.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

OLD, NEW = "btree (object_type_id, ", "btree ("


def _rebuild(before: str, after: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    rows = bind.exec_driver_sql(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'records'"
    ).all()
    for name, definition in rows:
        if name.startswith("ix_search_") and before in definition:
            bind.exec_driver_sql(f"DROP INDEX {name}")
            bind.exec_driver_sql(definition.replace(before, after, 1))


def upgrade() -> None:
    _rebuild(OLD, NEW)


def downgrade() -> None:
    _rebuild(NEW, OLD)
