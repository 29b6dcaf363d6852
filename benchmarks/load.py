"""Ten minutes of mixed traffic against a PostgreSQL deployment: 2 API processes (``crmbatch serve
--workers 2``) and 2 ``crmbatch worker`` processes, on loopback.

Client threads loop over a mix: Brevo object upserts (200 records), Brevo event batches (50
events), HubSpot batch upserts (50 inputs by ``vin``, synchronous) and reads (record pages,
processes, contacts, the schema), for three accounts. Afterwards every batch that was answered
202 must reach ``completed`` with no failed record, no answer may have been a 5xx, and the
memory (RSS) of every crmbatch process is sampled every 10 s: the last minutes may not hold
more than the first ones plus a margin. The figures go to a JSON file and the summary to stdout.

    python benchmarks/load.py                       # 10 minutes, 8 client threads
    python benchmarks/load.py --minutes 2 --clients 4 --out /tmp/load.json
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import VEHICLE_SCHEMA  # noqa: E402
from tests.processes import Proc, free_port, wait_status  # noqa: E402

from benchmarks.upsert import accounts_with_schema, drop_database, fresh_database  # noqa: E402

#: the mix: what share of a client's requests each kind of call is
MIX = {"brevo_upsert": 0.35, "events": 0.2, "hubspot_upsert": 0.15, "read": 0.3}


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


class Traffic:
    def __init__(self, base: str, keys: list[str], deadline: float) -> None:
        self.base = base
        self.keys = keys
        self.deadline = deadline
        self.lock = threading.Lock()
        self.statuses: Counter[str] = Counter()
        self.latency: dict[str, list[float]] = {k: [] for k in MIX}
        self.accepted: list[tuple[str, int]] = []  # (key, process id)
        self.errors: list[str] = []

    def run(self, seed: int) -> None:
        rnd = random.Random(seed)
        kinds, weights = list(MIX), list(MIX.values())
        with httpx.Client(base_url=self.base, timeout=60) as c:
            n = 0
            while time.monotonic() < self.deadline:
                n += 1
                key = rnd.choice(self.keys)
                kind = rnd.choices(kinds, weights)[0]
                started = time.perf_counter()
                try:
                    status, pid = getattr(self, kind)(c, key, rnd, f"{seed}-{n}")
                except httpx.HTTPError as e:
                    with self.lock:
                        self.statuses["transport_error"] += 1
                        self.errors.append(f"{kind}: {e!r}")
                    continue
                elapsed = time.perf_counter() - started
                with self.lock:
                    self.statuses[str(status)] += 1
                    self.latency[kind].append(elapsed)
                    if pid is not None:
                        self.accepted.append((key, pid))

    def brevo_upsert(self, c: httpx.Client, key: str, rnd: random.Random, tag: str) -> Any:
        records = [
            {
                "identifiers": {"ext_id": f"car-{rnd.randrange(50_000)}"},
                "attributes": {
                    "model": f"Model {rnd.randrange(97)}",
                    "year": 1990 + rnd.randrange(35),
                },
            }
            for _ in range(200)
        ]
        r = c.post(
            "/v3/objects/vehicle/batch/upsert",
            content=orjson.dumps({"records": records}),
            headers={"api-key": key, "content-type": "application/json", "idempotency-key": tag},
        )
        return r.status_code, r.json()["processId"] if r.status_code == 202 else None

    def events(self, c: httpx.Client, key: str, rnd: random.Random, tag: str) -> Any:
        events = [
            {
                "event_name": "page_viewed",
                "identifiers": {"email_id": f"u{rnd.randrange(5000)}@example.com"},
                "event_properties": {"page": f"/p/{rnd.randrange(100)}"},
            }
            for _ in range(50)
        ]
        r = c.post("/v3/events/batch", json={"events": events}, headers={"api-key": key})
        return r.status_code, r.json().get("processId") if r.status_code == 202 else None

    def hubspot_upsert(self, c: httpx.Client, key: str, rnd: random.Random, tag: str) -> Any:
        vins = rnd.sample(range(20_000), 50)
        inputs = [
            {
                "id": f"VIN{v:09d}",
                "idProperty": "vin",
                "properties": {"model": f"Model {rnd.randrange(97)}", "make": "Toyota"},
            }
            for v in vins
        ]
        r = c.post(
            "/crm/v3/objects/vehicle/batch/upsert",
            json={"inputs": inputs},
            headers={"authorization": f"Bearer {key}"},
        )
        return r.status_code, None

    def read(self, c: httpx.Client, key: str, rnd: random.Random, tag: str) -> Any:
        which = rnd.randrange(4)
        headers = {"api-key": key}
        if which == 0:
            page = 1 + rnd.randrange(20)
            r = c.get(f"/v3/objects/vehicle/records?limit=50&page_num={page}", headers=headers)
        elif which == 1 and self.accepted:
            with self.lock:
                mine = [p for k, p in self.accepted[-200:] if k == key]
            r = c.get(f"/v1/processes/{mine[-1] if mine else 1}?results=none", headers=headers)
            if r.status_code == 404 and not mine:
                return 200, None
        elif which == 2:
            r = c.get(f"/v3/contacts/u{rnd.randrange(5000)}@example.com", headers=headers)
            if r.status_code == 404:  # not created yet: a fair answer
                return 200, None
        else:
            r = c.get("/v1/schema", headers=headers)
        return r.status_code, None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "load.json")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="crmbatch-load-"))
    url = fresh_database("postgres", workdir)
    keys = accounts_with_schema(url, workdir, VEHICLE_SCHEMA, [f"load{n}" for n in range(3)])

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"CRMBATCH_LOG_LEVEL": "warning"}
    server = Proc(
        url, "serve", "--port", str(port), "--workers", "2", log=workdir / "serve.log", **env
    )
    workers = [Proc(url, "worker", log=workdir / f"worker{n}.log", **env) for n in range(2)]
    samples: dict[str, list[float]] = {}
    try:
        wait_status(lambda: _health(base), (200,))
        time.sleep(2)
        pids = {
            "api": server.popen.pid,
            **{f"worker{n}": w.popen.pid for n, w in enumerate(workers)},
        }
        for n, child in enumerate(children(server.popen.pid)):
            pids[f"api-child{n}"] = child
        samples = {name: [] for name in pids}
        started = time.monotonic()
        traffic = Traffic(base, keys, started + args.minutes * 60)
        threads = [threading.Thread(target=traffic.run, args=(n,)) for n in range(args.clients)]
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            for name, pid in pids.items():
                samples[name].append(rss_mb(pid))
            elapsed = time.monotonic() - started
            with traffic.lock:
                done = sum(traffic.statuses.values())
            print(
                f"\r{elapsed:6.0f} s  {done:,} requests  {dict(traffic.statuses)}",
                end="",
                flush=True,
            )
            time.sleep(10)
        for t in threads:
            t.join()
        traffic_seconds = time.monotonic() - started
        print()
        # every 202 must be completed, nothing failed
        lost = []
        failed_records = 0
        drain_started = time.monotonic()
        with httpx.Client(base_url=base, timeout=60) as c:
            for key, pid in traffic.accepted:
                while True:
                    p = c.get(f"/v1/processes/{pid}?results=none", headers={"api-key": key}).json()
                    if p["status"] in ("completed", "failed"):
                        break
                    if time.monotonic() - drain_started > 600:
                        break
                    time.sleep(0.2)
                if p["status"] != "completed":
                    lost.append(pid)
                failed_records += p["counts"].get("failed", 0)
        drain_seconds = time.monotonic() - drain_started
    finally:
        for w in workers:
            w.stop()
        server.stop()
        drop_database(url)
        shutil.rmtree(workdir, ignore_errors=True)

    fivexx = sum(n for s, n in traffic.statuses.items() if s.startswith("5"))
    memory = {}
    for name, values in samples.items():
        k = max(1, len(values) // 5)
        first, last = statistics.median(values[:k]), statistics.median(values[-k:])
        memory[name] = {
            "first_mb": round(first, 1),
            "last_mb": round(last, 1),
            "growth": round(last / first - 1, 3) if first else None,
        }
    figures = {
        "minutes": args.minutes,
        "clients": args.clients,
        "requests": sum(traffic.statuses.values()),
        "requests_per_second": round(sum(traffic.statuses.values()) / traffic_seconds, 1),
        "statuses": dict(traffic.statuses),
        "five_xx": fivexx,
        "batches_accepted": len(traffic.accepted),
        "batches_not_completed": lost,
        "failed_records": failed_records,
        "seconds_to_drain_after_traffic": round(drain_seconds, 1),
        "latency_ms": {
            k: {
                "p50": round(statistics.median(v) * 1000, 1),
                "p99": round(sorted(v)[int(0.99 * (len(v) - 1))] * 1000, 1),
                "n": len(v),
            }
            for k, v in traffic.latency.items()
            if v
        },
        "memory": memory,
        "errors": traffic.errors[:20],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    flat = all(m["growth"] is None or m["growth"] < 0.25 for m in memory.values())
    ok = fivexx == 0 and not lost and failed_records == 0 and flat
    print(
        f"\n{'PASS' if ok else 'FAIL'}: {fivexx} 5xx, {len(lost)} batches not completed, "
        f"{failed_records} failed records, memory {'flat' if flat else 'GREW'}; see {args.out}"
    )
    if not ok:
        sys.exit(1)


def _health(base: str) -> int:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code
    except httpx.HTTPError:
        return 0


if __name__ == "__main__":
    main()
