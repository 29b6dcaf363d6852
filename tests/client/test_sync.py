"""``crmbatch sync`` against a real server on both backends: files of any size pushed, bad rows
reported, interrupted runs resumed without applying anything twice."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import orjson
from typer.testing import CliRunner

from crmbatch.cli import app
from crmbatch.client import Client
from tests.client.stores import counts
from tests.conftest import VEHICLE_SCHEMA
from tests.proxy import DOWN, LOST, proxy

HEADER = ["vin", "make", "model", "year", "color", "insured", "first_registered"]


def write_csv(path: Path, rows: list[list[Any]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(header)
        out.writerows(rows)
    return path


def good_rows(n: int) -> list[list[Any]]:
    return [
        [
            f"VIN{i:07d}",
            "Toyota",
            f"Corolla {i}",
            1990 + i % 30,
            "gray" if i % 2 else "black",
            "yes" if i % 3 else "no",
            f"20{i % 25:02d}-0{1 + i % 9}-1{i % 10}",
        ]
        for i in range(n)
    ]


def sync(base_url: str, key: str, file: Path, *extra: str) -> Any:
    args = ["sync", str(file), "--object-type", "vehicle", "--ext-id-column", "vin"]
    args += ["--base-url", base_url, "--api-key", key, *extra]
    return CliRunner().invoke(app, args, catch_exceptions=False)


def failures_of(file: Path) -> list[dict[str, Any]]:
    path = file.with_name(f"{file.stem}.failures.jsonl")
    return [orjson.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def test_a_50000_row_csv_is_synced_and_a_second_run_changes_nothing(server, account, db, tmp_path):
    acct, key = account
    file = write_csv(tmp_path / "vehicles.csv", good_rows(50_000))

    first = sync(server.base_url, key, file)
    assert first.exit_code == 0, first.output
    assert "all 50,000 records applied" in first.output
    with Client(server.base_url, key) as c:
        assert c.objects("vehicle").records(limit=1)["count"] == 50_000
        sample = c.objects("vehicle").records(limit=1, sort="asc")["records"][0]
    assert sample["identifiers"]["ext_id"] == "VIN0000000"
    assert sample["attributes"] == {
        "vin": "VIN0000000",
        "make": "Toyota",
        "model": "Corolla 0",
        "year": 1990,
        "color": "black",
        "insured": False,
        "first_registered": "2000-01-10",
    }
    assert counts(db, acct.id) == (50_000, 50_000, 50)

    second = sync(server.base_url, key, file)
    assert second.exit_code == 0, second.output
    assert "nothing changed" in second.output
    assert counts(db, acct.id) == (50_000, 50_000, 50)
    assert failures_of(file) == []


def test_bad_rows_are_named_in_the_failure_file_and_the_rest_applied(server, account, db, tmp_path):
    acct, key = account
    rows = good_rows(6)
    rows[1][3] = "nineteen ninety"  # line 3: a number that is not one
    rows[2][5] = "maybe"  # line 4: not a boolean
    rows[3] = [*rows[3], "surplus"]  # line 5: a cell no column names
    rows[4] = rows[4][:2]  # line 6: truncated
    file = write_csv(tmp_path / "bad.csv", rows)

    result = sync(server.base_url, key, file)
    assert result.exit_code == 1, result.output
    assert "4 row(s) not applied" in result.output
    failed = failures_of(file)
    assert [(f["line"], f["errors"][0]["code"]) for f in failed] == [
        (3, "invalid_value"),
        (4, "invalid_value"),
        (5, "wrong_cell_count"),
        (6, "wrong_cell_count"),
    ]
    assert failed[0]["errors"][0]["field"] == "year"
    assert counts(db, acct.id)[0] == 2


def test_a_column_that_names_no_attribute_stops_before_anything_is_sent(
    server, account, db, tmp_path
):
    acct, key = account
    file = write_csv(tmp_path / "cols.csv", [["V1", "Ford", "Ka"]], header=["vin", "mkae", "model"])
    result = sync(server.base_url, key, file)
    assert result.exit_code == 1
    assert "'mkae'" in result.output and "did you mean 'make'" in result.output
    assert counts(db, acct.id) == (0, 0, 0)

    mapped = sync(server.base_url, key, file, "--map", "mkae=make")
    assert mapped.exit_code == 0, mapped.output
    with Client(server.base_url, key) as c:
        record = c.objects("vehicle").records(limit=1)["records"][0]
    assert record["attributes"]["make"] == "Ford"


def test_a_dry_run_is_planned_by_the_server_and_writes_nothing(server, account, db, tmp_path):
    """A crmbatch server plans every batch (unknown ids, unique conflicts are found there) and
    writes nothing; each failure is named by its line, local or not."""
    acct, key = account
    seed = write_csv(tmp_path / "seed.csv", good_rows(2))
    assert sync(server.base_url, key, seed).exit_code == 0
    before = counts(db, acct.id)
    lines = [
        {"identifiers": {"ext_id": "N1"}, "attributes": {"model": "new"}},
        {"identifiers": {"id": 10**12}, "attributes": {"model": "ghost"}},  # line 2: no such id
        {"vin": "N3", "model": "Twingo", "wheels": 4},  # line 3: no such attribute
        {"identifiers": {"ext_id": "N4"}, "attributes": {"vin": "VIN0000001"}},  # 4: taken
        {"identifiers": {"ext_id": "VIN0000000"}, "attributes": {"year": 2001}},  # an update
    ]
    file = tmp_path / "plan.jsonl"
    file.write_bytes(b"\n".join(orjson.dumps(line) for line in lines) + b"\n")
    result = sync(server.base_url, key, file, "--dry-run")
    assert result.exit_code == 1, result.output
    assert "nothing was written" in result.output
    planned = sorted((f["line"], f["status"], f["errors"][0]["code"]) for f in failures_of(file))
    assert planned == [
        (2, "failed", "record_not_found"),
        (3, "invalid", "unknown_attribute"),
        (4, "failed", "unique_violation"),
    ]
    assert re.search(r"created\s*│\s*1\b", result.output)
    assert re.search(r"updated\s*│\s*1\b", result.output)
    assert counts(db, acct.id) == before


def test_a_dry_run_against_another_brevo_server_checks_rows_only(server, account, db, tmp_path):
    acct, key = account
    rows = good_rows(3)
    rows[2][4] = "purple"
    file = write_csv(tmp_path / "dry.csv", rows)
    schema = tmp_path / "schema.json"
    schema.write_bytes(orjson.dumps(VEHICLE_SCHEMA))
    with proxy(server.base_url, hide=("/v1/",)) as brevo_only:
        result = sync(brevo_only.url, key, file, "--dry-run", "--schema", str(schema))
    assert result.exit_code == 1
    assert "3 rows read, 2 valid, 1 invalid; nothing was sent" in result.output
    assert [f["line"] for f in failures_of(file)] == [4]
    assert counts(db, acct.id) == (0, 0, 0)


def test_jsonl_takes_plain_attributes_or_brevos_shape(server, account, db, tmp_path):
    acct, key = account
    lines = [
        {"vin": "J1", "model": "Clio", "year": 2019},
        {"identifiers": {"ext_id": "J2"}, "attributes": {"model": "Zoe", "insured": True}},
        {"vin": "J3", "model": "Twingo", "wheels": 4},  # line 3: no such attribute
        {"identifiers": {"id": 10**12}, "attributes": {"model": "ghost"}},  # line 4: no such id
    ]
    file = tmp_path / "cars.jsonl"
    file.write_bytes(b"\n".join(orjson.dumps(line) for line in lines) + b"\n")
    result = sync(server.base_url, key, file)
    assert result.exit_code == 1, result.output
    failed = failures_of(file)
    assert [(f["line"], f["status"], f["errors"][0]["code"]) for f in failed] == [
        (3, "invalid", "unknown_attribute"),
        (4, "failed", "record_not_found"),
    ]
    assert counts(db, acct.id)[0] == 2


def test_an_interrupted_sync_resumes_and_applies_everything_once(server, account, db, tmp_path):
    acct, key = account
    file = write_csv(tmp_path / "fleet.csv", good_rows(1000))
    # three batches go through, the fourth arrives but its answer is lost, then the network
    # is down: the run stops with 400 rows applied
    with proxy(server.base_url, ["forward"] * 3 + [LOST], then=DOWN) as double:
        cut = sync(
            double.url, key, file, "--batch-size", "100", "--concurrency", "1", "--retries", "1"
        )
    assert cut.exit_code == 1, cut.output
    assert "run the same command again to resume" in cut.output
    assert double.forwarded() == 4
    assert counts(db, acct.id) == (400, 400, 4)

    resumed = sync(server.base_url, key, file, "--batch-size", "100")
    assert resumed.exit_code == 0, resumed.output
    replayed = re.search(r"already applied by an earlier run\s*│\s*([\d,]+)", resumed.output)
    assert replayed is not None and replayed.group(1) == "400", resumed.output
    assert counts(db, acct.id) == (1000, 1000, 10)  # each batch is one process, applied once


def test_429_and_503_from_the_server_are_waited_out(server, account, db, tmp_path):
    acct, key = account
    file = write_csv(tmp_path / "busy.csv", good_rows(300))
    with proxy(server.base_url, [429, 503, 429], retry_after="0") as double:
        result = sync(double.url, key, file, "--batch-size", "100", "--concurrency", "1")
    assert result.exit_code == 0, result.output
    assert [a for a, _ in double.seen][:4] == [429, 503, 429, "forward"]
    assert counts(db, acct.id) == (300, 300, 3)


def test_a_brevo_server_without_crmbatchs_own_endpoints_is_synced_too(
    server, account, db, tmp_path
):
    """Another server of Brevo's dialect has no /v1: the schema comes from --schema, and the
    processes are followed through /v3/processes (their status, not each record)."""
    acct, key = account
    file = write_csv(tmp_path / "brevo.csv", good_rows(1500))
    schema = tmp_path / "schema.json"
    schema.write_bytes(orjson.dumps(VEHICLE_SCHEMA))
    with proxy(server.base_url, hide=("/v1/",)) as brevo_only:
        refused = sync(brevo_only.url, key, file)
        assert refused.exit_code == 1 and "--schema FILE" in refused.output
        result = sync(brevo_only.url, key, file, "--schema", str(schema))
    assert result.exit_code == 0, result.output
    unreported = re.search(r"applied \(the server does not itemise\)\s*│\s*([\d,]+)", result.output)
    assert unreported is not None and unreported.group(1) == "1,500"
    assert counts(db, acct.id) == (1500, 1500, 2)


def test_the_failure_file_carries_each_row_and_can_be_fed_back(server, account, tmp_path):
    _, key = account
    rows = good_rows(4)
    rows[1][3] = "old"  # line 3: not a number
    file = write_csv(tmp_path / "cars.csv", rows)
    assert sync(server.base_url, key, file).exit_code == 1
    (bad,) = failures_of(file)
    assert (bad["line"], bad["status"]) == (3, "invalid")
    assert bad["row"]["vin"] == "VIN0000001" and bad["row"]["year"] == "old"
    bad["row"]["year"] = "1999"  # fixed, and fed back with the same options
    fixed = file.with_name("cars.failures.jsonl")
    fixed.write_bytes(orjson.dumps(bad) + b"\n")
    again = sync(server.base_url, key, fixed)
    assert again.exit_code == 0, again.output
    with Client(server.base_url, key) as c:
        cars = {r["identifiers"]["ext_id"]: r for r in c.objects("vehicle").records()["records"]}
    assert cars["VIN0000001"]["attributes"]["year"] == 1999

    ghost = tmp_path / "ghost.jsonl"
    ghost.write_bytes(orjson.dumps({"identifiers": {"id": 10**12}, "attributes": {"model": "x"}}))
    assert sync(server.base_url, key, ghost).exit_code == 1
    (server_side,) = failures_of(ghost)
    assert server_side["errors"][0]["code"] == "record_not_found"
    assert server_side["identifiers"] == {"id": 10**12}  # the record as it was sent
    assert server_side["attributes"] == {"model": "x"}
