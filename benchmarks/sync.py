"""``crmbatch sync`` of a large CSV into a local server, against the raw database ceiling.

Writes a CSV of N rows (10 attributes each, the ext_id among them), starts ``crmbatch serve`` on
a fresh database, and times ``crmbatch sync FILE --object-type vehicle --ext-id-column vin`` as a
real subprocess, from start to exit (every row applied and reported). The sync's peak memory
(max RSS) is read from the kernel. Then the same rows are written straight into a fresh database
of the same backend with the best bulk statement (the ceiling, as in upsert.py). The CSV is built
and the ceiling run outside the timed part.

    python benchmarks/sync.py                         # SQLite, 1,000,000 rows
    python benchmarks/sync.py --rows 200000 --backend postgres
"""

from __future__ import annotations

import argparse
import copy
import csv
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import VEHICLE_SCHEMA  # noqa: E402
from tests.processes import BIN, env_for, serve  # noqa: E402

from benchmarks.upsert import (  # noqa: E402
    accounts_with_schema,
    drop_database,
    fresh_database,
    prepare_raw,
    raw_ceiling,
)

HEADER = [
    "vin",
    "model",
    "make",
    "company_name",
    "year",
    "mileage",
    "color",
    "features",
    "first_registered",
    "insured",
]


def row(i: int) -> list[Any]:
    return [
        f"VIN{i:09d}",
        f"Model {i % 97}",
        "Toyota" if i % 3 else "Honda",
        f"Fleet {i % 50}",
        1990 + i % 35,
        (i * 7919) % 300_000,
        "gray" if i % 2 else "black",
        "sunroof" if i % 2 else "sunroof,leather_seats",
        f"20{i % 24:02d}-0{1 + i % 9}-1{i % 10}",
        "true" if i % 3 else "false",
    ]


def raw_batches(n: int, size: int = 1000) -> Iterator[list[dict[str, Any]]]:
    """The rows as the records they become, for the ceiling."""
    for start in range(0, n, size):
        batch = []
        for i in range(start, min(n, start + size)):
            r = row(i)
            attributes = dict(zip(HEADER, r, strict=True))
            attributes["features"] = r[7].split(",")
            attributes["insured"] = r[9] == "true"
            batch.append({"identifiers": {"ext_id": r[0]}, "attributes": attributes})
        yield batch


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="crmbatch-sync-bench-"))
    file = workdir / "vehicles.csv"
    with file.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        out.writerows(row(i) for i in range(args.rows))
    print(f"{args.rows:,} rows, {file.stat().st_size / 1e6:,.0f} MB of CSV", flush=True)

    url = fresh_database(args.backend, workdir)
    raw_url = fresh_database(args.backend, workdir)
    prepare_raw(raw_url)
    schema = copy.deepcopy(VEHICLE_SCHEMA)
    schema["object_types"]["vehicle"]["attributes"]["mileage"] = {"type": "number"}
    (key,) = accounts_with_schema(url, workdir, schema, ["bench"])
    server, base = serve(
        url, workdir / "serve.log", CRMBATCH_LOG_LEVEL="warning", CRMBATCH_EMBEDDED_WORKER="true"
    )
    try:
        command = [
            str(BIN),
            "sync",
            str(file),
            "--object-type",
            "vehicle",
            "--ext-id-column",
            "vin",
            "--base-url",
            base,
            "--api-key",
            key,
            "--concurrency",
            str(args.concurrency),
        ]
        started = time.perf_counter()
        pid = os.posix_spawn(command[0], command, env_for(url))
        _, status, usage = os.wait4(pid, 0)
        seconds = time.perf_counter() - started
    finally:
        server.stop()
    exit_code = os.waitstatus_to_exitcode(status)
    raw_seconds = raw_ceiling(raw_url, raw_batches(args.rows))  # type: ignore[arg-type]
    for u in (url, raw_url):
        drop_database(u)

    rate, ceiling = args.rows / seconds, args.rows / raw_seconds
    print()
    print(
        f"backend {args.backend}, {args.rows:,} rows x 10 attributes, "
        f"concurrency {args.concurrency}, exit status {exit_code}"
    )
    print(f"| {'':27} | {'seconds':>8} | {'rows/s':>9} |")
    print(f"| {'crmbatch sync (end to end)':27} | {seconds:8.1f} | {rate:9,.0f} |")
    print(f"| {'raw bulk upsert (ceiling)':27} | {raw_seconds:8.1f} | {ceiling:9,.0f} |")
    print(f"ratio {rate / ceiling:.2f}; sync client peak memory {usage.ru_maxrss / 1024:,.0f} MB")
    if exit_code != 0:
        sys.exit(f"the sync exited {exit_code}; see {workdir}")
    shutil.rmtree(workdir, ignore_errors=True)  # the CSV and the databases: gigabytes


if __name__ == "__main__":
    main()
