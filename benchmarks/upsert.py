"""End-to-end batch-upsert throughput against the raw database ceiling, in one run.

Starts ``crmbatch serve`` on a fresh database, pushes N records through
``POST /v3/objects/vehicle/batch/upsert`` in batches of 1000 from several concurrent clients, waits
until every batch is applied, and reports records/s end to end with the median and p99 time to
accept one batch. Then it writes the same rows straight into a fresh database of the same backend
with the best bulk statement (the ceiling) and prints both, and their ratio. Two passes: inserts
(new ext_ids), then merged updates (the same ext_ids, some attributes changed).

    python benchmarks/upsert.py                       # SQLite, 100,000 records, 4 clients
    python benchmarks/upsert.py --backend postgres    # PostgreSQL at CRMBATCH_TEST_POSTGRES_URL
    python benchmarks/upsert.py --workload events     # 100,000 events in batches of 200
    python benchmarks/upsert.py --workload hubspot --clients 8   # HubSpot upserts of 100

The events workload (``POST /v3/events/batch``): about a third of the events are for new contacts,
the rest for contacts that exist (seeded first, untimed), each with 5 event properties and 2
contact properties. Its ceiling is the same event rows inserted straight into the events table.

The mainbrainer workload (``POST /mainbrainer/contacts/batch``): batches of 100 contacts, half new
and half existing (seeded first, untimed), each with 5 property fields, every batch with a
``webHookUrl`` on a local receiver. The clock stops when the last webhook has arrived; every batch
must have been announced exactly once. Its ceiling is the same contacts upserted straight into the
records table.

    python benchmarks/upsert.py --workload mainbrainer --clients 4

The import workload (``POST /v3/contacts/import``): first the same number of objects upserted
(inserts, batches of 1000) for comparison, then as many new contacts imported as CSV text,
100,000 rows a request, until every import is applied.

    python benchmarks/upsert.py --workload import --records 1000000 --clients 2

The hubspot workload (``POST /crm/v3/objects/vehicle/batch/upsert``, synchronous): batches of 100
by the unique property ``vin``, half of each batch new records and half existing ones (seeded
first, untimed). The answer holds the applied records, so the time to answer is the time to apply.
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import VEHICLE_SCHEMA  # noqa: E402
from tests.processes import Proc, create_account, serve  # noqa: E402

from crmbatch.db.engine import AUTOCHECKPOINT_PAGES  # noqa: E402

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def make_records(n: int, generation: int) -> list[dict[str, Any]]:
    colors = ("gray", "black")
    return [
        {
            "identifiers": {"ext_id": f"car-{i}"},
            "attributes": {
                "model": f"Model {i % 97}",
                "make": "Toyota" if i % 3 else "Honda",
                "company_name": f"Fleet {i % 50}",
                "year": 1990 + (i + generation) % 35,
                "vin": f"VIN{i:09d}",
                "color": colors[(i + generation) % 2],
                "features": ["sunroof"] if i % 2 else ["sunroof", "leather_seats"],
                "first_registered": "2021-03-14",
                "insured": bool((i + generation) % 2),
            },
        }
        for i in range(n)
    ]


def fresh_database(backend: str, workdir: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{workdir / f'{uuid.uuid4().hex[:6]}.db'}"
    admin = os.environ.get("CRMBATCH_TEST_POSTGRES_URL") or PG_DEFAULT
    name = f"crmbatch_bench_{uuid.uuid4().hex[:8]}"
    eng = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    eng.dispose()
    return sa.engine.make_url(admin).set(database=name).render_as_string(hide_password=False)


def accounts_with_schema(
    url: str, workdir: Path, schema: dict[str, Any], names: list[str]
) -> list[str]:
    """Migrate ``url``, create each account with ``schema`` applied (by the real CLI); their
    API keys, in order."""
    import yaml
    from tests.processes import cli

    from crmbatch.db.migrate import upgrade

    upgrade(url)
    (workdir / "schema.yaml").write_text(yaml.safe_dump(schema))
    keys = []
    for name in names:
        keys.append(create_account(url, name))
        done = cli(url, "schema", "apply", str(workdir / "schema.yaml"), "--account", name)
        if done.returncode != 0:
            raise SystemExit(f"schema apply failed: {done.stderr}")
    return keys


def drop_database(url: str) -> None:
    if url.startswith("sqlite"):
        return
    parsed = sa.engine.make_url(url)
    admin = os.environ.get("CRMBATCH_TEST_POSTGRES_URL") or PG_DEFAULT
    eng = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (parsed.database,),
        )
        c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{parsed.database}"')
    eng.dispose()


def make_events(n: int, seeded: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        who = f"new-{i}@example.com" if i % 3 == 0 else f"seed-{i % seeded}@example.com"
        out.append(
            {
                "event_name": "order_created" if i % 2 else "page_viewed",
                "identifiers": {"email_id": who},
                "event_date": f"2026-11-{1 + i % 20:02d}T10:{i % 60:02d}:00+01:00",
                "event_properties": {
                    "amount": i % 500,
                    "currency": "EUR",
                    "sku": f"SKU-{i % 1000}",
                    "paid": bool(i % 2),
                    "placed_at": "2026-11-01T10:00:00+01:00",
                },
                "contact_properties": {"FIRSTNAME": f"Name {i % 300}", "AGE": 18 + i % 60},
            }
        )
    return out


def seed_contacts(base: str, key: str, n: int) -> None:
    seeds = [
        {"event_name": "seeded", "identifiers": {"email_id": f"seed-{i}@example.com"}}
        for i in range(n)
    ]
    bodies = [orjson.dumps({"events": seeds[i : i + 200]}) for i in range(0, n, 200)]
    push(base, key, bodies, 4, path="/v3/events/batch")


RAW_EVENTS = (
    "INSERT INTO events (account_id, contact_id, name, event_date, properties, contact_properties,"
    " created_at) VALUES (1, ?, ?, ?, ?, ?, ?)"
)
RAW_EVENTS_PG = (
    "INSERT INTO events (account_id, contact_id, name, event_date, properties, contact_properties,"
    " created_at) SELECT 1, t.contact_id, t.name, t.event_date, t.properties,"
    " t.contact_properties, now() FROM jsonb_to_recordset(%s::jsonb) AS t(contact_id bigint,"
    " name text, event_date timestamptz, properties json, contact_properties json)"
)


def raw_events_ceiling(url: str, batches: list[list[dict[str, Any]]]) -> float:
    """The event rows inserted straight into the events table, a transaction per batch (no
    contact resolution, no contact update, no checks): seconds taken."""
    sqlite = url.startswith("sqlite")
    eng = sa.create_engine(url)
    raw = eng.raw_connection()
    try:
        cur = raw.cursor()
        if sqlite:  # the settings crmbatch itself runs with (see crmbatch.db.engine)
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
        started = time.perf_counter()
        for batch in batches:
            rows = [
                (
                    i + 1,
                    e["event_name"],
                    e["event_date"],
                    orjson.dumps(e["event_properties"]).decode(),
                    orjson.dumps(e["contact_properties"]).decode(),
                )
                for i, e in enumerate(batch)
            ]
            if sqlite:
                now = time.strftime("%Y-%m-%d %H:%M:%S")
                cur.execute("BEGIN")
                cur.executemany(RAW_EVENTS, [(*r, now) for r in rows])
                cur.execute("COMMIT")
            else:
                keys = ("contact_id", "name", "event_date", "properties", "contact_properties")
                doc = [dict(zip(keys, r, strict=True)) for r in rows]
                cur.execute(RAW_EVENTS_PG, (orjson.dumps(doc).decode(),))
                raw.commit()
        return time.perf_counter() - started
    finally:
        raw.close()
        eng.dispose()


def hubspot_bodies(n: int) -> tuple[list[bytes], list[list[dict[str, Any]]]]:
    """Batches of 100: 50 vins seeded before, 50 new; and the same rows for the ceiling."""
    bodies, batches = [], []
    for start in range(0, n, 100):
        inputs, rows = [], []
        for j in range(100):
            i = start + j
            vin = f"VIN{i // 2:09d}" if j % 2 else f"NEW{i:09d}"
            props = {"model": f"Model {i % 97}", "year": str(1990 + i % 35), "make": "Toyota"}
            inputs.append({"id": vin, "idProperty": "vin", "properties": props})
            rows.append({"identifiers": {"ext_id": vin}, "attributes": props})
        bodies.append(orjson.dumps({"inputs": inputs}))
        batches.append(rows)
    return bodies, batches


CONTACT_EXTRA = {"CITY": {"type": "text"}, "VIP": {"type": "boolean"}}


def mainbrainer_batches(n: int, seeded: int) -> list[list[dict[str, Any]]]:
    """Batches of 100: even items new contacts, odd ones seeded contacts, 5 properties each."""
    out = []
    for start in range(0, n, 100):
        batch = []
        for i in range(start, min(n, start + 100)):
            email = f"new-{i}@example.com" if i % 2 == 0 else f"seed-{i % seeded}@example.com"
            fields = {
                "FIRSTNAME": f"Name {i % 300}",
                "LASTNAME": f"Family {i % 700}",
                "AGE": str(18 + i % 60),
                "CITY": f"City {i % 40}",
                "VIP": "true" if i % 5 == 0 else "false",
            }
            batch.append(
                {
                    "email": email,
                    "emailOptIn": bool(i % 2),
                    "propertyFields": [
                        {"propertyName": k, "propertyValue": v} for k, v in fields.items()
                    ],
                }
            )
        out.append(batch)
    return out


def push_mainbrainer(
    base: str, key: str, batches: list[list[dict[str, Any]]], clients: int, hook_url: str | None
) -> tuple[float, list[float], list[str]]:
    """Send every batch, ``clients`` at a time; the seconds until sent, the time each took to be
    accepted, and the batch ids."""
    accept: list[float] = []
    ids: list[str] = []
    lock = threading.Lock()
    local = threading.local()

    def send(batch: list[dict[str, Any]]) -> None:
        if not hasattr(local, "client"):
            headers = {"authorization": f"Bearer {key}"}
            local.client = httpx.Client(base_url=base, headers=headers, timeout=120)
        body = orjson.dumps({"createUpdateContacts": batch, "webHookUrl": hook_url})
        t0 = time.perf_counter()
        r = local.client.post(
            "/mainbrainer/contacts/batch",
            content=body,
            headers={"content-type": "application/json"},
        )
        elapsed = time.perf_counter() - t0
        if r.status_code != 202:
            raise SystemExit(f"contacts/batch answered {r.status_code}: {r.text[:300]}")
        with lock:
            accept.append(elapsed)
            ids.append(r.json()["data"]["batchId"])

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, batches))
    return time.perf_counter() - started, accept, ids


def run_mainbrainer(
    base: str, key: str, raw_url: str, n: int, clients: int
) -> tuple[str, float, float, float, float]:
    from tests.receiver import receiver

    seeded = max(1, n // 2)
    seed = [{"email": f"seed-{i}@example.com"} for i in range(seeded)]
    push_mainbrainer(base, key, [seed[i : i + 1000] for i in range(0, seeded, 1000)], 4, None)
    with httpx.Client(base_url=base, headers={"api-key": key}, timeout=30) as c:
        while (
            c.get("/v3/processes", params={"limit": 1, "offset": 0, "sort": "desc"}).json()[
                "processes"
            ][0]["status"]
            != "completed"
        ):
            time.sleep(0.05)
    batches = mainbrainer_batches(n, seeded)
    with receiver() as hooks:
        started = time.perf_counter()
        _, accept, ids = push_mainbrainer(base, key, batches, clients, hooks.url)
        got = hooks.wait_for(len(batches), timeout=600)
        seconds = time.perf_counter() - started
        time.sleep(0.5)
        if len(hooks.requests) != len(batches):
            raise SystemExit(f"{len(hooks.requests)} webhooks for {len(batches)} batches")
    reports = [h.json() for h in got]
    if sorted(r["batchId"] for r in reports) != sorted(ids):
        raise SystemExit("the webhooks do not announce the batches sent")
    inserted = sum(r["inserted"]["count"] for r in reports)
    updated = sum(r["updated"]["count"] for r in reports)
    skipped = sum(r["skipped"]["count"] for r in reports)
    if (inserted, updated, skipped) != (n - n // 2, n // 2, 0):
        raise SystemExit(f"inserted {inserted}, updated {updated}, skipped {skipped}")
    raw_batches = [
        [
            {
                "identifiers": {"ext_id": c["email"]},
                "attributes": {p["propertyName"]: p["propertyValue"] for p in c["propertyFields"]},
            }
            for c in b
        ]
        for b in batches
    ]
    raw_seconds = raw_ceiling(raw_url, raw_batches)
    return (
        "contacts",
        n / seconds,
        n / raw_seconds,
        statistics.median(accept) * 1000,
        pct(accept, 0.99) * 1000,
    )


IMPORT_ROWS = 100_000  # rows per import request (about 6 MB of CSV, under Brevo's 10 MB)


def run_import(
    base: str, key: str, raw_url: str, n: int, clients: int
) -> tuple[str, float, float, float, float]:
    """``POST /v3/contacts/import`` of ``n`` new contacts as CSV, ``IMPORT_ROWS`` rows a request
    (``clients`` at a time), until every import is applied; every row must be created."""
    with httpx.Client(base_url=base, headers={"api-key": key}, timeout=300) as c:
        list_id = c.post("/v1/lists", json={"name": "Imported"}).json()["list_id"]
    header = "EMAIL;EXT_ID;FIRSTNAME;LASTNAME;AGE;CITY;VIP"
    rows = [
        f"im-{i}@example.com;im-{i};Name {i % 300};Family {i % 700};{18 + i % 60};"
        f"City {i % 40};{'true' if i % 5 == 0 else 'false'}"
        for i in range(n)
    ]
    bodies = [
        orjson.dumps(
            {"fileBody": "\n".join([header, *rows[i : i + IMPORT_ROWS]]), "listIds": [list_id]}
        )
        for i in range(0, n, IMPORT_ROWS)
    ]
    seconds, accept = push(base, key, bodies, clients, path="/v3/contacts/import")
    with httpx.Client(base_url=base, headers={"api-key": key}, timeout=60) as c:
        created = c.get("/v3/contacts", params={"limit": 0}).json()["count"]
    if created != n:
        raise SystemExit(f"{created} contacts for {n} rows imported")
    raw_batches = [
        [
            {
                "identifiers": {"ext_id": f"im-{i}@example.com"},
                "attributes": {"FIRSTNAME": f"Name {i % 300}", "AGE": 18 + i % 60},
            }
            for i in range(start, min(n, start + 1000))
        ]
        for start in range(0, n, 1000)
    ]
    raw_seconds = raw_ceiling(raw_url, raw_batches)
    return (
        "contacts import",
        n / seconds,
        n / raw_seconds,
        statistics.median(accept) * 1000,
        pct(accept, 0.99) * 1000,
    )


def apply_rate(url: str, kind: str) -> tuple[int, float]:
    """How fast the worker applied the processes of ``kind``: their items over the time it spent
    applying them (the union of their started..completed spans: processes applied together
    share one). Accepting is left out, so an import and an upsert compare record for record."""
    eng = sa.create_engine(url)
    with eng.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT started_at, completed_at, received FROM processes"
                " WHERE kind = :kind AND status = 'completed' ORDER BY started_at"
            ),
            {"kind": kind},
        ).all()
    eng.dispose()
    busy, items, end = 0.0, 0, None
    for started, completed, received in rows:
        started, completed = _moment(started), _moment(completed)
        items += received
        if end is None or started > end:
            busy += completed - started
            end = completed
        elif completed > end:
            busy += completed - end
            end = completed
    return items, items / busy if busy else 0.0


def _moment(value: Any) -> float:
    if isinstance(value, str):  # SQLite hands back text here
        from datetime import datetime

        value = datetime.fromisoformat(value)
    return float(value.timestamp())


def push_sync(
    base: str, key: str, path: str, bodies: list[bytes], clients: int
) -> tuple[float, list[float]]:
    """Send every body, ``clients`` at a time, to a synchronous endpoint; the answer means
    applied."""
    answered: list[float] = []
    lock = threading.Lock()
    local = threading.local()

    def send(body: bytes) -> None:
        if not hasattr(local, "client"):
            headers = {"authorization": f"Bearer {key}"}
            local.client = httpx.Client(base_url=base, headers=headers, timeout=120)
        t0 = time.perf_counter()
        r = local.client.post(path, content=body, headers={"content-type": "application/json"})
        elapsed = time.perf_counter() - t0
        if r.status_code != 200:
            raise SystemExit(f"{path} answered {r.status_code}: {r.text[:300]}")
        with lock:
            answered.append(elapsed)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, bodies))
    return time.perf_counter() - started, answered


def push(
    base: str,
    key: str | list[str],
    bodies: list[bytes],
    clients: int,
    path: str = "/v3/objects/vehicle/batch/upsert",
) -> tuple[float, list[float]]:
    """Send every body, ``clients`` at a time; wait until all are applied. With several keys
    (accounts, so partitions that may apply in parallel) the bodies are dealt round-robin.

    Returns the seconds taken and the time each batch took to be accepted."""
    keys = [key] if isinstance(key, str) else key
    accept: list[float] = []
    ids: dict[str, list[int]] = {k: [] for k in keys}
    lock = threading.Lock()
    local = threading.local()

    def send(job: tuple[str, bytes]) -> None:
        k, body = job
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=base, timeout=120)
        t0 = time.perf_counter()
        r = local.client.post(
            path,
            content=body,
            headers={"content-type": "application/json", "api-key": k},
        )
        elapsed = time.perf_counter() - t0
        if r.status_code != 202:
            raise SystemExit(f"upsert answered {r.status_code}: {r.text[:300]}")
        with lock:
            accept.append(elapsed)
            ids[k].append(r.json()["processId"])

    started = time.perf_counter()
    jobs = [(keys[i % len(keys)], body) for i, body in enumerate(bodies)]
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, jobs))
    for k, pids in ids.items():  # a partition applies in order: its newest done, all are done
        with httpx.Client(base_url=base, headers={"api-key": k}, timeout=30) as c:
            while c.get(f"/v1/processes/{max(pids)}?results=none").json()["status"] != "completed":
                time.sleep(0.02)
    total = time.perf_counter() - started
    for k, pids in ids.items():
        with httpx.Client(base_url=base, headers={"api-key": k}, timeout=30) as c:
            for pid in pids:
                counts = c.get(f"/v1/processes/{pid}?results=none").json()["counts"]
                if counts["failed"]:
                    raise SystemExit(f"process {pid} had failures: {counts}")
    return total, accept


RAW_SQLITE = (
    "INSERT INTO records (account_id, object_type_id, ext_id, attributes, created_at, updated_at)"
    " VALUES (1, 1, ?, ?, ?, ?) ON CONFLICT (object_type_id, ext_id) DO UPDATE"
    " SET attributes = json_patch(records.attributes, excluded.attributes),"
    " updated_at = excluded.updated_at"
)
RAW_POSTGRES = (
    "INSERT INTO records (account_id, object_type_id, ext_id, attributes, created_at, updated_at)"
    " SELECT 1, 1, t.ext_id, t.attributes, now(), now()"
    " FROM jsonb_to_recordset(%s::jsonb) AS t(ext_id text, attributes jsonb)"
    " ON CONFLICT (object_type_id, ext_id) DO UPDATE"
    " SET attributes = records.attributes || excluded.attributes,"
    " updated_at = excluded.updated_at"
)


def prepare_raw(url: str) -> None:
    from crmbatch.db.migrate import upgrade

    upgrade(url)
    eng = sa.create_engine(url)
    with eng.begin() as c:
        c.exec_driver_sql(
            "INSERT INTO accounts (id, name, webhook_secret, created_at)"
            " VALUES (1, 'raw', 'x', CURRENT_TIMESTAMP)"
        )
        c.exec_driver_sql(
            "INSERT INTO object_types (id, account_id, name, label, is_system, created_at,"
            " updated_at) VALUES (1, 1, 'vehicle', 'Vehicle', false, CURRENT_TIMESTAMP,"
            " CURRENT_TIMESTAMP)"
        )
    eng.dispose()


def raw_ceiling(url: str, batches: list[list[dict[str, Any]]]) -> float:
    """The same rows with the best bulk insert-or-merge statement of the backend, a transaction
    per batch (no HTTP, no checks, no history): seconds taken."""
    sqlite = url.startswith("sqlite")
    eng = sa.create_engine(url)
    raw = eng.raw_connection()
    try:
        cur = raw.cursor()
        if sqlite:  # the settings crmbatch itself runs with (see crmbatch.db.engine)
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
        started = time.perf_counter()
        for batch in batches:
            if sqlite:
                now = time.strftime("%Y-%m-%d %H:%M:%S")
                rows = [
                    (r["identifiers"]["ext_id"], orjson.dumps(r["attributes"]).decode(), now, now)
                    for r in batch
                ]
                cur.execute("BEGIN")
                cur.executemany(RAW_SQLITE, rows)
                cur.execute("COMMIT")
            else:
                doc = [
                    {"ext_id": r["identifiers"]["ext_id"], "attributes": r["attributes"]}
                    for r in batch
                ]
                cur.execute(RAW_POSTGRES, (orjson.dumps(doc).decode(),))
                raw.commit()
        return time.perf_counter() - started
    finally:
        raw.close()
        eng.dispose()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


BATCH_SIZES = {"events": 200, "hubspot": 100, "mainbrainer": 100, "import": IMPORT_ROWS}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument(
        "--workload",
        choices=("objects", "events", "hubspot", "mainbrainer", "import"),
        default="objects",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="crmbatch worker processes (0: the worker inside serve)",
    )
    parser.add_argument(
        "--worker-mode",
        choices=("process", "thread"),
        default="process",
        help="the embedded worker: serve's child process (the default) or a thread of serve",
    )
    parser.add_argument(
        "--accounts",
        type=int,
        default=1,
        help="objects workload: spread the batches over this many accounts (partitions)",
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="crmbatch-bench-"))
    url = fresh_database(args.backend, workdir)
    raw_url = fresh_database(args.backend, workdir)
    prepare_raw(raw_url)
    schema = copy.deepcopy(VEHICLE_SCHEMA)
    schema["object_types"]["contact"]["attributes"].update(CONTACT_EXTRA)
    names = ["bench", *(f"bench{n}" for n in range(1, args.accounts))]
    keys = accounts_with_schema(url, workdir, schema, names)  # one partition per account
    key = keys[0]
    extra = {
        "CRMBATCH_LOG_LEVEL": "warning",
        "CRMBATCH_EMBEDDED_WORKER": "true",
        "CRMBATCH_WEBHOOK_ALLOW_PRIVATE": "true",  # the receiver is on 127.0.0.1
        "CRMBATCH_WORKER_PROCESS": str(args.worker_mode == "process").lower(),
    }
    if args.workers:
        extra["CRMBATCH_EMBEDDED_WORKER"] = "false"
    server, base = serve(url, workdir / "serve.log", **extra)
    workers = [
        Proc(url, "worker", log=workdir / f"worker{n}.log", **extra) for n in range(args.workers)
    ]
    rows: list[tuple[str, float, float, float, float]] = []
    try:
        if args.workload == "events":
            seed_contacts(base, key, args.records // 3)
            events = make_events(args.records, args.records // 3)
            batches = [events[i : i + 200] for i in range(0, len(events), 200)]
            bodies = [orjson.dumps({"events": b}) for b in batches]
            seconds, accept = push(base, key, bodies, args.clients, path="/v3/events/batch")
            raw_seconds = raw_events_ceiling(raw_url, batches)
            rows.append(
                (
                    "events",
                    args.records / seconds,
                    args.records / raw_seconds,
                    statistics.median(accept) * 1000,
                    pct(accept, 0.99) * 1000,
                )
            )
        if args.workload == "mainbrainer":
            rows.append(run_mainbrainer(base, key, raw_url, args.records, args.clients))
        if args.workload == "import":  # the same number of objects first: the same speed?
            records = make_records(args.records, 0)
            batches = [records[i : i + 1000] for i in range(0, len(records), 1000)]
            bodies = [orjson.dumps({"records": b}) for b in batches]
            seconds, accept = push(base, keys, bodies, args.clients)
            raw_seconds = raw_ceiling(raw_url, batches)
            rows.append(
                (
                    "objects inserts",
                    args.records / seconds,
                    args.records / raw_seconds,
                    statistics.median(accept) * 1000,
                    pct(accept, 0.99) * 1000,
                )
            )
            rows.append(run_import(base, key, raw_url, args.records, args.clients))
            for kind in ("objects_upsert", "contacts_import_part"):
                items, rate = apply_rate(url, kind)
                print(f"worker, {kind}: {items:,} items applied at {rate:,.0f} /s while applying")
        if args.workload == "hubspot":
            seed = make_records(args.records // 2, 0)
            for r in seed:
                r["identifiers"] = {"ext_id": f"seed-{r['attributes']['vin']}"}
            seed_bodies = [
                orjson.dumps({"records": seed[i : i + 1000]}) for i in range(0, len(seed), 1000)
            ]
            push(base, key, seed_bodies, 4)
            bodies, batches = hubspot_bodies(args.records)
            path = "/crm/v3/objects/vehicle/batch/upsert"
            seconds, answered = push_sync(base, key, path, bodies, args.clients)
            raw_seconds = raw_ceiling(raw_url, batches)
            rows.append(
                (
                    "hubspot upserts",
                    args.records / seconds,
                    args.records / raw_seconds,
                    statistics.median(answered) * 1000,
                    pct(answered, 0.99) * 1000,
                )
            )
        for generation, label in ((0, "inserts"), (1, "merged updates")):
            if args.workload != "objects":
                break
            records = make_records(args.records, generation)
            batches = [records[i : i + args.batch] for i in range(0, len(records), args.batch)]
            bodies = [orjson.dumps({"records": b}) for b in batches]
            seconds, accept = push(base, keys, bodies, args.clients)
            raw_seconds = raw_ceiling(raw_url, batches)
            rows.append(
                (
                    label,
                    args.records / seconds,
                    args.records / raw_seconds,
                    statistics.median(accept) * 1000,
                    pct(accept, 0.99) * 1000,
                )
            )
    finally:
        for w in workers:
            w.stop()
        server.stop()
        drop_database(url)
        drop_database(raw_url)
        shutil.rmtree(workdir, ignore_errors=True)  # a 1M-record run leaves gigabytes

    print(
        f"\ncrmbatch {args.workload} benchmark: {args.backend}, {args.records:,} items, "
        f"batches of {BATCH_SIZES.get(args.workload, args.batch)}, "
        f"{args.clients} concurrent clients, {args.accounts} account(s), "
        f"{args.workers or 'the embedded'} worker(s), {os.cpu_count()} CPUs"
    )
    print(
        f"{'pass':<16}{'end-to-end /s':>18}{'raw ceiling /s':>19}{'ratio':>8}"
        f"{'answer p50 ms':>15}{'answer p99 ms':>15}"
    )
    for label, e2e, raw, p50, p99 in rows:
        print(f"{label:<16}{e2e:>18,.0f}{raw:>19,.0f}{e2e / raw:>8.2f}{p50:>15.1f}{p99:>15.1f}")


if __name__ == "__main__":
    main()
