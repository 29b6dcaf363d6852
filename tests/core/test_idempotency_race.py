"""Two requests racing with one Idempotency-Key: the one that loses the race for the key's unique
index answers as the winner did (or 409 for another body), and only one process exists.

Only PostgreSQL can race here: SQLite serialises every writer, so the loser always finds the
winner's process before it inserts its own."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from crmbatch.core.errors import Conflict
from crmbatch.core.processes import service as processes
from crmbatch.core.records import service as records
from crmbatch.core.schema import service as schemas
from crmbatch.db.tables import processes as processes_table

KEY = "import-7"


def _submission(db, account_id, object_type):
    with db.read() as conn:
        schema = schemas.load(conn, account_id)
    return records.upsert_submission(
        schema, object_type, [{"ext_id": "x", "attributes": {"name": "n"}}]
    )


def _race(db, account_id, digests):
    """The first request inserts its process and holds its transaction open while the second,
    for another object type (another partition: no lock in common), tries the same key."""
    inserted = threading.Event()
    release = threading.Event()
    outcome = {}

    def first():
        with db.write() as conn:
            sub = _submission(db, account_id, "vehicle")
            outcome["first"] = processes.accept(
                conn, account_id, sub, dialect="t", idempotency_key=KEY, digest=digests[0]
            )
            inserted.set()
            release.wait(10)

    def second():
        inserted.wait(10)
        try:
            with db.write() as conn:
                sub = _submission(db, account_id, "garage")
                outcome["second"] = processes.accept(
                    conn, account_id, sub, dialect="t", idempotency_key=KEY, digest=digests[1]
                )
        except Conflict as e:
            outcome["second"] = e

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    inserted.wait(10)
    threading.Timer(0.5, release.set).start()  # the second is waiting on the key's index
    for t in threads:
        t.join(15)
    return outcome


@pytest.fixture
def postgres_only(database_url):
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite serialises every writer: two requests cannot race for a key")


def test_the_loser_of_a_key_race_answers_as_the_winner_did(postgres_only, db, account):
    acct, _ = account
    outcome = _race(db, acct.id, ["same", "same"])
    assert not outcome["first"].replayed
    assert outcome["second"].replayed
    assert outcome["second"].process_id == outcome["first"].process_id
    with db.read() as conn:
        count = conn.execute(
            sa.select(sa.func.count())
            .select_from(processes_table)
            .where(processes_table.c.idempotency_key == KEY)
        ).scalar_one()
    assert count == 1


def test_the_loser_of_a_key_race_with_another_body_gets_a_conflict(postgres_only, db, account):
    acct, _ = account
    outcome = _race(db, acct.id, ["one body", "another body"])
    assert isinstance(outcome["second"], Conflict)
    assert "already used with a different request body" in outcome["second"].message
