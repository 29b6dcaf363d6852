"""folders of contact lists (Brevo's): every list is filed in one

Lists made before this revision go into a folder of their account named "Your first folder",
as a new Brevo account has.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
DEFAULT_FOLDER = "Your first folder"


def upgrade() -> None:
    folders = op.create_table(
        "folders",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("account_id", BigId, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_folders_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_folders"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_folders_account_id", "folders", ["account_id"])
    with op.batch_alter_table("lists") as batch:
        batch.add_column(sa.Column("folder_id", BigId, nullable=True))
        batch.create_foreign_key("fk_lists_folder_id_folders", "folders", ["folder_id"], ["id"])
        batch.create_index("ix_lists_folder_id", ["folder_id"])
    bind = op.get_bind()
    lists = sa.table("lists", sa.column("account_id"), sa.column("folder_id"))
    owners = bind.execute(sa.select(lists.c.account_id).distinct()).scalars().all()
    for account_id in owners:
        folder_id = bind.execute(
            folders.insert()
            .values(account_id=account_id, name=DEFAULT_FOLDER, created_at=sa.func.now())
            .returning(folders.c.id)
        ).scalar_one()
        bind.execute(
            lists.update().where(lists.c.account_id == account_id).values(folder_id=folder_id)
        )


def downgrade() -> None:
    with op.batch_alter_table("lists") as batch:
        batch.drop_index("ix_lists_folder_id")
        batch.drop_constraint("fk_lists_folder_id_folders", type_="foreignkey")
        batch.drop_column("folder_id")
    op.drop_index("ix_folders_account_id", "folders")
    op.drop_table("folders")
