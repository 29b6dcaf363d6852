"""Claiming: one process of a partition at a time, oldest first; other partitions go on."""

from __future__ import annotations

from datetime import timedelta

from crmbatch.core import clock
from crmbatch.core.processes import store
from crmbatch.core.processes.lifecycle import apply_claimed, claim
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
    assert apply_claimed(db, a, "worker-a") is not None
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
    assert apply_claimed(db, stale, "old") is None
    assert apply_claimed(db, fresh, "new") is not None
    with db.read() as conn:
        assert store.get(conn, acct.id, pid)["status"] == "completed"


def test_small_batches_waiting_in_line_apply_together_and_report_alone(db, settings, account):
    from crmbatch.core.processes import service as processes
    from crmbatch.core.processes.lifecycle import apply_claimed, claim_group
    from tests.helpers import by_ext

    acct, _ = account
    first = submit(db, acct.id, [{"ext_id": "a", "attributes": {"model": "1", "year": 1}}])
    second = submit(
        db,
        acct.id,
        [
            {"ext_id": "b", "attributes": {"model": "b"}},
            {"ext_id": "a", "attributes": {"model": "2"}},
            {"id": 999999, "attributes": {"model": "x"}},
        ],
    )
    third = submit(db, acct.id, [{"ext_id": "a", "attributes": {"model": "3", "Nope": 1}}])
    with db.write() as conn:
        deletion = processes.Submission(
            "objects_delete", "vehicle", {"object_type": "vehicle", "ext_ids": ["b"]}, 1
        )
        records_delete = processes.accept(conn, acct.id, deletion, dialect="test").process_id
    after_delete = submit(db, acct.id, [{"ext_id": "b", "attributes": {"model": "b2"}}])

    group = claim_group(db, "w", 30)
    assert [r["id"] for r in group] == [first, second, third]  # the delete ends the run
    assert claim(db, "other", 30) is None  # nothing else of the partition is claimable
    assert apply_claimed(db, group, "w") is not None
    with db.read() as conn:
        done = [processes.full(conn, acct.id, pid) for pid in (first, second, third)]
    assert [[r["status"] for r in p["results"]] for p in done] == [
        ["created"],
        ["created", "updated", "failed"],
        ["updated"],
    ]
    assert [[r["index"] for r in p["results"]] for p in done] == [[0], [0, 1, 2], [0]]
    assert done[1]["counts"] | {"received": 3} == {
        "received": 3,
        "created": 1,
        "updated": 1,
        "unchanged": 0,
        "deleted": 0,
        "archived": 0,
        "failed": 1,
        "skipped": 0,
    }
    assert done[2]["results"][0]["warnings"][0]["code"] == "unknown_attribute"
    assert by_ext(db, acct.id)["a"]["attributes"] == {"model": "3", "year": 1}
    # each change is in the history of the process that made it
    import sqlalchemy as sa

    from crmbatch.db.tables import record_history

    with db.read() as conn:
        owners = [
            r.process_id
            for r in conn.execute(
                sa.select(record_history.c.process_id)
                .where(record_history.c.record_id == done[0]["results"][0]["id"])
                .order_by(record_history.c.id)
            )
        ]
    assert owners == [first, second, third]

    from crmbatch.worker import drain

    assert drain(db, settings) == 2
    with db.read() as conn:
        assert processes.full(conn, acct.id, records_delete)["counts"]["deleted"] == 1
        assert processes.full(conn, acct.id, after_delete)["results"][0]["status"] == "created"


def test_a_group_whose_lease_ran_out_is_applied_once_by_the_next_worker(db, settings, account):
    from crmbatch.core.processes.lifecycle import apply_claimed, claim_group
    from crmbatch.worker import drain
    from tests.helpers import all_records

    acct, _ = account
    ids = [
        submit(db, acct.id, [{"ext_id": f"r{i}", "attributes": {"model": "m"}}]) for i in range(3)
    ]
    stale = claim_group(db, "old", 30)
    assert [r["id"] for r in stale] == ids
    with db.write() as conn:
        conn.execute(
            store.processes.update().values(lease_until=clock.now() - timedelta(seconds=1))
        )
    assert drain(db, settings) == 3  # taken over, one by one, in order
    assert apply_claimed(db, stale, "old") is None
    assert sorted(r["ext_id"] for r in all_records(db, acct.id)) == ["r0", "r1", "r2"]
