"""HubSpot CRM search over a large type, end to end, against the raw database in the same run.

Loads N vehicles (1,000,000 by default) through the engine into a fresh database, with ``year``
and ``model`` declared searchable (so they are indexed) and ``vin`` unique, starts
``crmbatch serve`` on it, and times ``POST /crm/v3/objects/vehicle/search`` (the official wire
format, over HTTP): an ``EQ`` on the unique ``vin``; a ``BETWEEN`` on the number ``mileage`` that
0.1% of the records match, sorted by it, ``limit`` 100, with ``total``; a ``BETWEEN`` on ``year``
that 5.7% match (the total counts 57,000 records of a million), the same way; and that one sorted
descending, page 5. ``mileage`` is searchable too. Then the web console's pages over the same
records (signed in as a user is): the first and the 20th page of records, records by a unique,
a searchable attribute and by ext_id, a record with its history, the processes and the overview.
Each query runs many times with varying values; the medians are printed beside the median of
the hand-written SQL that answers the same question on a raw connection (the ceiling), and their
ratio.

    python benchmarks/search.py                        # SQLite, 1,000,000 records
    python benchmarks/search.py --backend postgres     # PostgreSQL at CRMBATCH_TEST_POSTGRES_URL
    python benchmarks/search.py --records 200000       # a quicker run
"""

from __future__ import annotations

import argparse
import copy
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import VEHICLE_SCHEMA  # noqa: E402
from tests.processes import serve  # noqa: E402

from benchmarks.upsert import drop_database, fresh_database  # noqa: E402
from crmbatch.config import Settings  # noqa: E402
from crmbatch.core.accounts import service as accounts  # noqa: E402
from crmbatch.core.records import service as records  # noqa: E402
from crmbatch.core.schema import service as schemas  # noqa: E402
from crmbatch.db.engine import Database  # noqa: E402
from crmbatch.db.migrate import upgrade  # noqa: E402
from crmbatch.worker import drain  # noqa: E402

YEARS = 35
MILES = 1_000_000


def vehicle(i: int) -> dict[str, Any]:
    return {
        "ext_id": f"car-{i}",
        "attributes": {
            "model": f"Model {i % 997}",
            "make": "Toyota" if i % 3 else "Honda",
            "year": 1990 + (i * 7919) % YEARS,
            "mileage": (i * 7919) % MILES,
            "vin": f"VIN{i:09d}",
            "color": ("gray", "black")[i % 2],
        },
    }


def load(url: str, n: int) -> tuple[str, int]:
    """A fresh account holding ``n`` vehicles, applied by the engine; its key and type id."""
    upgrade(url)
    db = Database(url)
    schema = copy.deepcopy(VEHICLE_SCHEMA)
    schema["object_types"]["vehicle"]["attributes"]["mileage"] = {"type": "number"}
    schema["object_types"]["vehicle"]["searchable"] = ["mileage", "year", "model"]
    with db.write() as conn:
        account, key = accounts.create_account(conn, "bench")
        schemas.apply(conn, account.id, schema)
        type_id = schemas.load(conn, account.id).types["vehicle"].id
    settings = Settings(database_url=url)
    started = time.perf_counter()
    for start in range(0, n, 1000):
        batch = [vehicle(i) for i in range(start, min(n, start + 1000))]
        with db.write() as conn:
            records.accept_upsert(conn, account.id, "vehicle", batch, dialect="bench")
        if start % 50_000 == 0:
            drain(db, settings)
            done = start + len(batch)
            rate = done / (time.perf_counter() - started)
            print(f"\r  loaded {done:,} of {n:,} ({rate:,.0f} records/s)", end="", flush=True)
    drain(db, settings)
    print(f"\r  loaded {n:,} records in {time.perf_counter() - started:.0f} s" + " " * 20)
    if not db.is_sqlite:  # what autovacuum does after a bulk load (insert-triggered since PG 13)
        with db.write_engine.connect() as conn:
            conn.commit()
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE records"
            )
    db.dispose()
    return key, type_id


def timed(call: Any, runs: int) -> list[float]:
    out = []
    for i in range(runs):
        started = time.perf_counter()
        call(i)
        out.append((time.perf_counter() - started) * 1000)
    return out


def queries(n: int) -> dict[str, Any]:
    """name → (HubSpot search body for run i, what its answer must hold)."""
    rnd = random.Random(7)
    vins = [rnd.randrange(n) for _ in range(1000)]
    lows = [1990 + rnd.randrange(YEARS - 2) for _ in range(1000)]
    miles = [rnd.randrange(MILES - MILES // 1000) for _ in range(1000)]

    def eq(i: int) -> dict[str, Any]:
        vin = f"VIN{vins[i % len(vins)]:09d}"
        return {
            "filterGroups": [
                {"filters": [{"propertyName": "vin", "operator": "EQ", "value": vin}]}
            ],
            "properties": ["vin", "year"],
        }

    def between(
        i: int, field: str = "year", direction: str = "ASCENDING", after: int = 0
    ) -> dict[str, Any]:
        low, high = _range(field, i, lows, miles)
        cond = {"propertyName": field, "operator": "BETWEEN", "value": low, "highValue": high}
        return {
            "filterGroups": [{"filters": [cond]}],
            "sorts": [{"propertyName": field, "direction": direction}],
            "properties": ["vin", field],
            "limit": 100,
            "after": after,
        }

    return {
        "EQ on a unique property": eq,
        "BETWEEN, 0.1% match, sorted, limit 100": lambda i: between(i, "mileage"),
        "BETWEEN, 5.7% match, sorted, limit 100": between,
        "the same, descending, page 5": lambda i: between(i, "year", "DESCENDING", 400),
    }


def _range(field: str, i: int, lows: list[int], miles: list[int]) -> tuple[int, int]:
    if field == "mileage":
        return miles[i % len(miles)], miles[i % len(miles)] + MILES // 1000
    return lows[i % len(lows)], lows[i % len(lows)] + 1


def raw(url: str, type_id: int, n: int) -> dict[str, Any]:
    """The hand-written SQL that answers the same questions (name → runner for run i)."""
    pg = url.startswith("postgresql")
    rnd = random.Random(7)
    vins = [rnd.randrange(n) for _ in range(1000)]
    lows = [1990 + rnd.randrange(YEARS - 2) for _ in range(1000)]
    miles = [rnd.randrange(MILES - MILES // 1000) for _ in range(1000)]

    def value(field: str) -> str:
        if pg:
            return f"CAST((attributes ->> '{field}') AS NUMERIC)"
        return f"json_extract(attributes, '$.{field}')"

    live = f"object_type_id = {type_id} AND archived_at IS NULL"
    eng = sa.create_engine(url)
    conn = eng.connect()

    def eq(i: int) -> None:
        conn.execute(
            sa.text(
                "SELECT r.id, r.attributes FROM identifiers i JOIN records r ON r.id = i.record_id"
                " WHERE i.object_type_id = :t AND i.kind = 'attr:vin' AND i.value = :v"
            ),
            {"t": type_id, "v": f"VIN{vins[i % len(vins)]:09d}"},
        ).all()

    def between(i: int, field: str = "year", order: str = "ASC", offset: int = 0) -> None:
        low, high = _range(field, i, lows, miles)
        params = {"low": low, "high": high}
        where = f"{live} AND {value(field)} BETWEEN :low AND :high"
        conn.execute(sa.text(f"SELECT count(*) FROM records WHERE {where}"), params).scalar()
        conn.execute(
            sa.text(
                f"SELECT id, attributes FROM records WHERE {where}"
                f" ORDER BY {value(field)} {order}, id {order} LIMIT 100 OFFSET {offset}"
            ),
            params,
        ).all()

    runners = {
        "EQ on a unique property": eq,
        "BETWEEN, 0.1% match, sorted, limit 100": lambda i: between(i, "mileage"),
        "BETWEEN, 5.7% match, sorted, limit 100": between,
        "the same, descending, page 5": lambda i: between(i, "year", "DESC", 400),
    }
    runners["_close"] = lambda: (conn.close(), eng.dispose())
    return runners


def console_pages(base: str, key: str, n: int, runs: int) -> None:
    """The console's pages over the same records, signed in as a user is (p50 and p90)."""
    rnd = random.Random(11)
    pages = {
        "records, first page": lambda i: "/console/records?type=vehicle",
        "records, page 20": lambda i: "/console/records?type=vehicle&offset=950",
        "records by a unique vin": lambda i: (
            f"/console/records?type=vehicle&attr=vin&value=VIN{rnd.randrange(n):09d}"
        ),
        "records by a searchable year": lambda i: (
            f"/console/records?type=vehicle&attr=year&value={1990 + rnd.randrange(YEARS)}"
        ),
        "records by ext_id": lambda i: (
            f"/console/records?type=vehicle&ext_id=car-{rnd.randrange(n)}"
        ),
        "a record with its history": lambda i: f"/console/records/{1 + rnd.randrange(n)}",
        "processes": lambda i: "/console/processes",
        "overview": lambda i: "/console/",
    }
    with httpx.Client(base_url=base, timeout=30) as client:
        r = client.post("/console/login", data={"key": key})
        assert r.status_code == 303, r.text
        print(f"\n{'console page':42} {'p50':>13} {'p90':>8}")
        for name, path in pages.items():

            def call(i: int, path: Any = path) -> None:
                r = client.get(path(i))
                assert r.status_code == 200, (path(i), r.status_code)

            timed(call, 5)
            served = timed(call, max(20, runs // 4))
            p50, p90 = statistics.median(served), sorted(served)[int(0.9 * len(served))]
            print(f"{name:42} {p50:10.1f} ms {p90:5.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="crmbatch-search-"))
    url = fresh_database(args.backend, work)
    try:
        print(f"{args.backend}: loading {args.records:,} vehicles through the engine")
        key, type_id = load(url, args.records)
        proc, base = serve(url, work / "serve.log")
        try:
            client = httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30
            )
            ceilings = raw(url, type_id, args.records)
            print(f"{'query':42} {'crmbatch p50':>13} {'p90':>8} {'raw SQL p50':>12} {'ratio':>6}")
            for name, body in queries(args.records).items():

                def call(i: int, body: Any = body) -> None:
                    r = client.post("/crm/v3/objects/vehicle/search", json=body(i))
                    assert r.status_code == 200 and r.json()["total"] >= 1, r.text

                timed(call, 10)  # warm up
                served = timed(call, args.runs)
                ceiling = timed(ceilings[name], args.runs)
                p50, p90 = statistics.median(served), sorted(served)[int(0.9 * len(served))]
                low = statistics.median(ceiling)
                print(f"{name:42} {p50:10.1f} ms {p90:5.1f} ms {low:9.1f} ms {low / p50:6.2f}")
            ceilings["_close"]()
            client.close()
            console_pages(base, key, args.records, args.runs)
        finally:
            proc.stop()
    finally:
        drop_database(url)
        shutil.rmtree(work, ignore_errors=True)  # a million records: gigabytes


if __name__ == "__main__":
    main()
