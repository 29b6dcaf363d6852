"""The migrations build exactly the declared tables, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from crmbatch.db.tables import metadata


def test_migrations_match_the_declared_schema(db):
    with db.write_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
