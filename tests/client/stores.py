"""What the server stored, read straight from the database: the ground truth the client's own
report is checked against."""

from __future__ import annotations

import sqlalchemy as sa

from crmbatch.db.engine import Database
from crmbatch.db.tables import processes, record_history, records


def counts(db: Database, account_id: int) -> tuple[int, int, int]:
    """(records, history rows, processes) of the account."""
    with db.read() as conn:

        def count(table: sa.Table) -> int:
            q = sa.select(sa.func.count()).select_from(table)
            return int(conn.execute(q.where(table.c.account_id == account_id)).scalar_one())

        return count(records), count(record_history), count(processes)
