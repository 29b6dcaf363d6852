"""association labels: named kinds of link between two types, carried by the links

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "association_labels",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("account_id", BigId, nullable=False),
        sa.Column("def_id", BigId, nullable=False),
        sa.Column("from_type_id", BigId, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("inverse_label", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_association_labels_account_id_accounts"
        ),
        sa.ForeignKeyConstraint(
            ["def_id"],
            ["association_defs.id"],
            name="fk_association_labels_def_id_association_defs",
        ),
        sa.ForeignKeyConstraint(
            ["from_type_id"],
            ["object_types.id"],
            name="fk_association_labels_from_type_id_object_types",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_association_labels"),
        sa.UniqueConstraint("def_id", "name", name="uq_association_labels_def_id_name"),
    )
    with op.batch_alter_table("associations") as batch:
        batch.add_column(sa.Column("labels", sa.String(length=1024), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("associations") as batch:
        batch.drop_column("labels")
    op.drop_table("association_labels")
