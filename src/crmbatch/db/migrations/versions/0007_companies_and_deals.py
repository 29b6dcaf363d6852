"""companies and deals: system types of every account, associated with contacts and each other

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

accounts = sa.table("accounts", sa.column("id", sa.BigInteger))
object_types = sa.table(
    "object_types",
    sa.column("id", sa.BigInteger),
    sa.column("account_id", sa.BigInteger),
    sa.column("name", sa.String),
    sa.column("label", sa.String),
    sa.column("primary_attribute", sa.String),
    sa.column("is_system", sa.Boolean),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
association_defs = sa.table(
    "association_defs",
    sa.column("account_id", sa.BigInteger),
    sa.column("type_a_id", sa.BigInteger),
    sa.column("type_b_id", sa.BigInteger),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
TYPES = {"company": ("Company", "name"), "deal": ("Deal", "dealname")}
PAIRS = (("contact", "company"), ("contact", "deal"), ("company", "deal"))


def upgrade() -> None:
    conn = op.get_bind()
    now = datetime.now(UTC)
    for (account_id,) in conn.execute(sa.select(accounts.c.id)).all():
        ids = dict(
            conn.execute(
                sa.select(object_types.c.name, object_types.c.id).where(
                    object_types.c.account_id == account_id
                )
            ).all()
        )
        for name, (label, primary) in TYPES.items():
            if name not in ids:
                conn.execute(
                    object_types.insert().values(
                        account_id=account_id,
                        name=name,
                        label=label,
                        primary_attribute=primary,
                        is_system=True,
                        created_at=now,
                        updated_at=now,
                    )
                )
        ids = dict(
            conn.execute(
                sa.select(object_types.c.name, object_types.c.id).where(
                    object_types.c.account_id == account_id
                )
            ).all()
        )
        have = {
            (a, b)
            for a, b in conn.execute(
                sa.select(association_defs.c.type_a_id, association_defs.c.type_b_id).where(
                    association_defs.c.account_id == account_id
                )
            ).all()
        }
        for a, b in PAIRS:
            if a not in ids or b not in ids:
                continue
            low, high = sorted((ids[a], ids[b]))
            if (low, high) not in have:
                conn.execute(
                    association_defs.insert().values(
                        account_id=account_id, type_a_id=low, type_b_id=high, created_at=now
                    )
                )
        conn.execute(
            sa.text(
                "UPDATE accounts SET schema_version = schema_version + 1 WHERE id = :id"
            ).bindparams(id=account_id)
        )


def downgrade() -> None:
    """Companies and deals stay: removing them could lose records."""
