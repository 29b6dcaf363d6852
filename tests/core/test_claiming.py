"""Claiming: one process of a partition at a time, oldest first; other partitions go on."""

from __future__ import annotations

from datetime import timedelta

from crmbatch.core import clock
from crmbatch.core.processes import store
from crmbatch.worker import apply_claimed, claim
from tests.helpers import submit


def test_a_partition_applies_in_order_while_others_proceed(db, account):
    acct, _ = account
    first = submit(db, acct.id, [{"ext_id": "a", "attributes": {"model": "1"}}])
    second = submit(db, acct.id, [{"ext_id": "a", "attributes": {"model": "2"}}])
    garage = submit(db, acct.id, [{"attributes": {"name": "g"}}], object_type="garage")

    a = claim(db, "worker-a", 30)
    assert a["id"] == first
    b = claim(db, "worker-b", 30)
    assert b["id"] == garage  # the vehicle partition is busy: b skips to another partition
    assert claim(db, "worker-c", 30) is None  # second waits for first
    assert apply_claimed(db, a, "worker-a")
    c = claim(db, "worker-c", 30)
    assert c["id"] == second


def test_an_expired_lease_is_claimed_again_and_the_old_owner_cannot_complete(db, account):
    acct, _ = account
    pid = submit(db, acct.id, [{"ext_id": "x", "attributes": {"model": "1"}}])
    stale = claim(db, "old", 0.0)
    assert stale["id"] == pid
    with db.write() as conn:  # make sure the lease is in the past
        conn.execute(
            store.processes.update().values(lease_until=clock.now() - timedelta(seconds=1))
        )
    fresh = claim(db, "new", 30)
    assert fresh["id"] == pid and fresh["attempts"] == 2
    assert apply_claimed(db, stale, "old") is False
    assert apply_claimed(db, fresh, "new") is True
    with db.read() as conn:
        assert store.get(conn, acct.id, pid)["status"] == "completed"
