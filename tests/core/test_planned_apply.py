"""The worker plans a batch on a snapshot and writes it under the lock: a plan that went stale in
between (schema changed, a linked record deleted) is made again instead of written."""

from __future__ import annotations

from crmbatch.core import clock
from crmbatch.core.records import plan as records_plan
from crmbatch.core.records import service as records
from crmbatch.core.records import write
from crmbatch.core.schema import service as schemas
from tests.conftest import VEHICLE_SCHEMA
from tests.helpers import all_records, run_batch


def _plan(db, account_id, commands):
    with db.read() as conn:
        schema = schemas.load(conn, account_id)
        return records_plan.plan_upsert(conn, schema, schema.types["vehicle"], commands)


def _write(db, account_id, plan):
    with db.write() as conn:
        schema = schemas.load(conn, account_id)
        return write.write_upsert(conn, schema, plan, process_id=None, at=clock.now())


def test_a_fresh_plan_is_written(db, account):
    acct, _ = account
    plan = _plan(db, acct.id, [{"ext_id": "p", "attributes": {"model": "M"}}])
    assert all_records(db, acct.id) == []  # planning writes nothing
    outcome = _write(db, acct.id, plan)
    assert outcome is not None and outcome.results[0].status == "created"
    assert outcome.results[0].id > 0
    assert [r["ext_id"] for r in all_records(db, acct.id)] == ["p"]


def test_a_plan_made_stale_by_a_schema_change_is_not_written(db, account):
    acct, _ = account
    plan = _plan(db, acct.id, [{"ext_id": "p", "attributes": {"model": "M"}}])
    changed = {"object_types": dict(VEHICLE_SCHEMA["object_types"])}
    vehicle = dict(changed["object_types"]["vehicle"])
    vehicle["attributes"] = {**vehicle["attributes"], "trim": {"type": "text"}}
    changed["object_types"]["vehicle"] = vehicle
    with db.write() as conn:
        schemas.apply(conn, acct.id, changed)
    assert _write(db, acct.id, plan) is None
    assert all_records(db, acct.id) == []


def test_a_plan_whose_link_target_was_deleted_is_not_written(db, settings, account):
    acct, _ = account
    g = run_batch(db, settings, acct.id, [{"attributes": {"name": "g"}}], "garage")
    gid = g["results"][0]["id"]
    plan = _plan(
        db,
        acct.id,
        [
            {
                "ext_id": "p",
                "attributes": {"model": "M"},
                "associations": [
                    {"object_type": "garage", "action": "link", "records": [{"id": gid}]}
                ],
            }
        ],
    )
    with db.write() as conn:
        records.accept_delete(conn, acct.id, "garage", ids=[gid], ext_ids=None, dialect="test")
    from crmbatch.worker import drain

    drain(db, settings)
    assert _write(db, acct.id, plan) is None
