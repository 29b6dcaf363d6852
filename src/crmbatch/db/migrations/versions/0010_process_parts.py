"""process parts: a large batch (an import) applied as parts of its own, in order

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("processes") as batch:
        batch.add_column(sa.Column("parent_id", BigId, nullable=True))
        batch.create_index("ix_processes_parent_id", ["parent_id"])


def downgrade() -> None:
    with op.batch_alter_table("processes") as batch:
        batch.drop_index("ix_processes_parent_id")
        batch.drop_column("parent_id")
