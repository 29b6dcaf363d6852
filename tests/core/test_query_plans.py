"""Every statement of a batch apply finds its rows through an index (SQLite's planner).

A plan that scans a table once per key made a 100k-record benchmark 20x slower; this keeps such
a shape from coming back. SQLite only: PostgreSQL's planner rightly scans the small tables of a
test database, so its plans are checked by the benchmark instead (and the one shape that
cannot show in a small database, its search indexes' leading column, by the last test).
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event

from crmbatch.core.schema import service as schemas
from crmbatch.worker import drain
from tests.helpers import submit

#: the tables that grow with the data, under their names and the aliases the store uses
BIG_TABLES = {"records", "identifiers", "associations", "record_history", "r", "i", "a"}
#: a search is keyed when the index lookup names a key, not only the object type (which can
#: hold millions of rows); a bare "SEARCH t" is SQLite's one-step min()/max() on the rowid
KEYED = re.compile(r"^SEARCH (\w+$|.*\b(rowid|id|ext_id|value|record_id|other_record_id)=\?)")


@pytest.fixture
def sqlite_only(database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("query plans are checked on SQLite; see the module docstring")


def test_applying_a_batch_looks_every_row_up_by_key(sqlite_only, db, settings, account):
    acct, _ = account
    garages = [{"ext_id": f"g{i}", "attributes": {"name": "g"}} for i in range(20)]
    submit(db, acct.id, garages, object_type="garage")
    drain(db, settings)
    statements = _capture(db)
    batch = [
        {
            "ext_id": f"v{i}",
            "attributes": {"model": "m", "vin": f"VIN{i}"},
            "associations": [
                {"object_type": "garage", "action": "link", "records": [{"ext_id": f"g{i % 20}"}]}
            ],
        }
        for i in range(50)
    ]
    submit(db, acct.id, batch)
    submit(db, acct.id, batch)  # the second time every record exists: the update path
    drain(db, settings)
    _explain_all(db, statements)


def _explain_all(db, statements):
    assert statements
    statements.on = False
    with db.read_engine.connect() as conn:
        for sql, params in statements:
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params).all()
            details = [row[-1] for row in plan]
            unkeyed = [d for d in details if d.split()[1] in BIG_TABLES and not KEYED.search(d)]
            assert not unkeyed, f"{sql}\n{details}"


class _Captured(list):
    """The reads, updates and deletes SQLite ran, as it ran them (parameters expanded),
    whichever layer sent them: the hot reads go to the driver's cursor, past SQLAlchemy's
    events."""

    def __init__(self) -> None:
        super().__init__()
        self.on = True

    def __call__(self, sql: str) -> None:
        if self.on and sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")):
            self.append((sql, {}))


def _capture(db):
    statements = _Captured()

    @event.listens_for(db.write_engine, "checkout")
    @event.listens_for(db.read_engine, "checkout")
    def capture(dbapi_connection, record, proxy):
        dbapi_connection.set_trace_callback(statements)

    return statements


def test_applying_events_looks_every_contact_and_record_up_by_key(
    sqlite_only, db, settings, account
):
    from tests.helpers import run_events

    acct, _ = account
    submit(db, acct.id, [{"ext_id": f"v{i}", "attributes": {"model": "m"}} for i in range(20)])
    drain(db, settings)
    run_events(db, settings, acct.id, [{"name": "seed", "identity": {"EMAIL": "a0@x.io"}}])
    statements = _capture(db)
    batch = [
        {
            "name": "e",
            "identity": {"EMAIL": f"a{i % 10}@x.io", "SMS": f"+3360000{i:04d}"},
            "contact_properties": {"AGE": i},
            "object": {"type": "vehicle", "id": None, "ext_id": f"v{i % 20}"},
        }
        for i in range(40)
    ]
    run_events(db, settings, acct.id, batch)
    _explain_all(db, statements)


def test_a_synchronous_hubspot_batch_looks_every_row_up_by_key(sqlite_only, db, account):
    from crmbatch.core.processes.sync import write_now
    from crmbatch.core.records import service as records

    acct, _ = account
    commands = [
        {"match": ["vin", f"VIN{i}"], "attributes": {"vin": f"VIN{i}", "model": "m"}}
        for i in range(30)
    ]

    def build(conn, schema):
        return records.upsert_submission(schema, "vehicle", commands, each_alone=True)

    write_now(db, acct.id, build, dialect="t")
    statements = _capture(db)
    results = write_now(db, acct.id, build, dialect="t").outcome.results
    assert {r.status for r in results} == {"unchanged"}
    with db.read() as conn:
        vehicle = records.custom_type(schemas.load(conn, acct.id), "vehicle")
        assert len(records.by_ids(conn, vehicle, [r.id for r in results])) == 30
    _explain_all(db, statements)


def test_a_search_on_a_searchable_attribute_ranges_and_sorts_by_its_index(
    sqlite_only, db, settings, account
):
    import copy

    from crmbatch.core.search import service as search
    from tests.conftest import VEHICLE_SCHEMA

    acct, _ = account
    doc = copy.deepcopy(VEHICLE_SCHEMA)
    doc["object_types"]["vehicle"]["searchable"] = ["year", "model"]
    with db.write() as conn:
        schemas.apply(conn, acct.id, doc)
    submit(db, acct.id, [{"attributes": {"year": 1990 + i, "model": f"m{i}"}} for i in range(50)])
    drain(db, settings)
    statements = _capture(db)
    with db.read() as conn:
        t = schemas.load(conn, acct.id).types["vehicle"]
        for field, op, values, descending in (
            ("year", "BETWEEN", (2000, 2010), False),
            ("year", "GTE", (2000,), True),
            ("model", "EQ", ("m7",), False),
        ):
            value, high = values if len(values) == 2 else (values[0], None)
            query = search.Query(
                groups=[[search.Filter(field, op, value=value, high=high)]],
                sort=(field, descending),
                limit=5,
            )
            search.search(conn, t, query)
    statements.on = False
    with db.read_engine.connect() as conn:
        for sql, params in statements:
            if "LIMIT" not in sql:
                continue
            plan = [r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)]
            assert any("USING INDEX ix_search_" in d for d in plan), (sql, params, plan)
            assert not any("TEMP B-TREE" in d for d in plan), (sql, plan)  # no sort step


def test_postgres_search_indexes_start_with_the_value(db, settings, account):
    """PostgreSQL drops ``object_type_id = <id>`` from the conditions a partial index on that
    predicate implies: an index led by the type column gave a range on the value nothing to
    start from, and every search read the whole index (47 ms against 1.3 ms for 1,000 of a
    million records). Its search indexes lead with the value; SQLite's lead with the type."""
    import copy

    from tests.conftest import VEHICLE_SCHEMA

    acct, _ = account
    doc = copy.deepcopy(VEHICLE_SCHEMA)
    doc["object_types"]["vehicle"]["searchable"] = ["year", "model"]
    with db.write() as conn:
        schemas.apply(conn, acct.id, doc)
        if db.is_sqlite:
            sql = "SELECT sql FROM sqlite_master WHERE name LIKE 'ix_search_%'"
        else:
            sql = "SELECT indexdef FROM pg_indexes WHERE indexname LIKE 'ix_search_%'"
        definitions = [d for (d,) in conn.exec_driver_sql(sql.replace("%", "%%"))]
    assert len(definitions) == 2, definitions
    for definition in definitions:
        columns = definition.split(" ON ", 1)[1].split("(", 1)[1]
        assert columns.startswith("object_type_id, ") == db.is_sqlite, definition
