"""identifiers in Unicode NFC; only email attributes compared without case

Unique text values used to be indexed lower-cased whenever they held an "@", and ext_ids and
unique values as typed (``café`` composed and decomposed were two values). Both are now NFC, and
only attributes of the email kind are lower-cased: the stored index is brought in line. A value
whose new form another record already holds is left as it was (it keeps working as before).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

records = sa.table(
    "records",
    sa.column("id", sa.BigInteger),
    sa.column("object_type_id", sa.BigInteger),
    sa.column("ext_id", sa.String),
    sa.column("attributes"),
)
identifiers = sa.table(
    "identifiers",
    sa.column("object_type_id", sa.BigInteger),
    sa.column("kind", sa.String),
    sa.column("value", sa.String),
    sa.column("record_id", sa.BigInteger),
)
attributes = sa.table(
    "attributes",
    sa.column("object_type_id", sa.BigInteger),
    sa.column("key", sa.String),
    sa.column("type", sa.String),
    sa.column("is_unique", sa.Boolean),
)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _attrs(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value or {})


def _ext_ids(conn: Any) -> None:
    taken = {(t, e) for t, e in conn.execute(sa.select(records.c.object_type_id, records.c.ext_id))}
    for rid, type_id, ext in conn.execute(
        sa.select(records.c.id, records.c.object_type_id, records.c.ext_id).where(
            records.c.ext_id.isnot(None)
        )
    ).all():
        new = _nfc(ext)
        if new != ext and (type_id, new) not in taken:
            conn.execute(records.update().where(records.c.id == rid).values(ext_id=new))
            taken.add((type_id, new))


def _unique_text(conn: Any) -> None:
    unique = conn.execute(
        sa.select(attributes.c.object_type_id, attributes.c.key).where(
            attributes.c.is_unique.is_(True), attributes.c.type == "text"
        )
    ).all()
    for type_id, key in unique:
        kind = f"attr:{key}"
        rows = conn.execute(
            sa.select(identifiers.c.value, records.c.attributes)
            .join(records, records.c.id == identifiers.c.record_id)
            .where(identifiers.c.object_type_id == type_id, identifiers.c.kind == kind)
        ).all()
        taken = {value for value, _ in rows}
        for value, attrs in rows:
            raw = _attrs(attrs).get(key)
            if not isinstance(raw, str):
                continue
            new = _nfc(raw.strip())
            if new != value and new not in taken:
                conn.execute(
                    identifiers.update()
                    .where(
                        identifiers.c.object_type_id == type_id,
                        identifiers.c.kind == kind,
                        identifiers.c.value == value,
                    )
                    .values(value=new)
                )
                taken.discard(value)
                taken.add(new)


def upgrade() -> None:
    conn = op.get_bind()
    _ext_ids(conn)
    _unique_text(conn)


def downgrade() -> None:
    """Nothing to undo: the old rule reads NFC values as well as any others."""
