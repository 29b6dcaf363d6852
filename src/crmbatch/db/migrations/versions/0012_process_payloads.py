"""process payloads in a table of their own: a process row is updated when it is claimed and
when it completes, and on SQLite an update that changes a row's size writes the whole row again,
payload included (for a batch of 1000 records, hundreds of kilobytes twice per process)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "process_payloads",
        sa.Column("process_id", BigId, nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["process_id"], ["processes.id"], name=op.f("fk_process_payloads_process_id_processes")
        ),
        sa.PrimaryKeyConstraint("process_id", name=op.f("pk_process_payloads")),
    )
    op.execute(
        "INSERT INTO process_payloads (process_id, payload) SELECT id, payload FROM processes"
    )
    # SQLite drops the column in place (3.35+): no copy of the table, its partial indexes kept
    op.execute("ALTER TABLE processes DROP COLUMN payload")


def downgrade() -> None:
    op.execute("ALTER TABLE processes ADD COLUMN payload JSON")
    op.execute(
        "UPDATE processes SET payload = (SELECT p.payload FROM process_payloads AS p"
        " WHERE p.process_id = processes.id)"
    )
    op.drop_table("process_payloads")
