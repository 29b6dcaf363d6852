"""the console's reads: webhook deliveries by account; processes by completion time, with how
many items they did not apply and how many carry warnings (the "with failures" and "with
warnings" filters); the first is filled in for processes already completed

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_webhook_deliveries_account", "webhook_deliveries", ["account_id", "id"], unique=False
    )
    with op.batch_alter_table("processes") as batch:
        batch.add_column(sa.Column("unapplied", sa.Integer, nullable=True))
        batch.add_column(sa.Column("warned", sa.Integer, nullable=True))
        batch.create_index(
            "ix_processes_account_completed",
            ["account_id", "completed_at", "parent_id", "status", "received", "unapplied"],
        )
    for name, where in (
        ("ix_processes_failures", "unapplied > 0 OR status = 'failed'"),
        ("ix_processes_warned", "warned > 0"),
    ):
        op.create_index(
            name,
            "processes",
            ["account_id", "id"],
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )
    if op.get_bind().dialect.name == "postgresql":
        count = "COALESCE(CAST(counts ->> '{0}' AS INTEGER), 0)"
    else:
        count = "COALESCE(json_extract(counts, '$.{0}'), 0)"
    op.execute(
        f"UPDATE processes SET unapplied = {count.format('failed')} + {count.format('skipped')}"
        " WHERE status = 'completed' AND counts IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index("ix_processes_warned", table_name="processes")
    op.drop_index("ix_processes_failures", table_name="processes")
    with op.batch_alter_table("processes") as batch:
        batch.drop_index("ix_processes_account_completed")
        batch.drop_column("warned")
        batch.drop_column("unapplied")
    op.drop_index("ix_webhook_deliveries_account", table_name="webhook_deliveries")
