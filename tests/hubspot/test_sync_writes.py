"""HubSpot's synchronous writes through the engine's one way in: one transaction per write,
identifiers resolved inside the apply (a racing change can never redirect a write), order kept
with queued batches, and a write that cannot go now is refused with nothing written."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from crmbatch.db.engine import Database
from crmbatch.db.tables import record_history
from tests.conftest import wait_process

UPSERT = "/crm/v3/objects/vehicle/batch/upsert"
UPDATE = "/crm/v3/objects/vehicle/batch/update"


def vin_upsert(*rows: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {"inputs": [{"idProperty": "vin", "id": v, "properties": p} for v, p in rows]}


@contextmanager
def counting(db: Database) -> Iterator[Counter[str]]:
    """Count the transactions opened on ``db`` (write and read) while the block runs."""
    opened: Counter[str] = Counter()
    write, read = db.write, db.read

    def counted_write(**kw: Any) -> Any:
        opened["write"] += 1
        return write(**kw)

    def counted_read() -> Any:
        opened["read"] += 1
        return read()

    db.write, db.read = counted_write, counted_read  # type: ignore[method-assign]
    try:
        yield opened
    finally:
        db.write, db.read = write, read  # type: ignore[method-assign]


def test_a_batch_write_is_one_transaction(idle_server, db, account):
    with idle_server.client(account[1]) as api:
        api.post(UPSERT, json=vin_upsert(("V0", {"model": "seed"})))
        body = vin_upsert(("V0", {"year": "2001"}), ("V1", {"model": "new"}), ("V2", {"year": "x"}))
        with counting(db) as opened:
            r = api.post(UPSERT, json=body)
        assert r.status_code == 207
        assert [(o["properties"]["vin"], o["new"]) for o in r.json()["results"]] == [
            ("V0", False),
            ("V1", True),
        ]
        # one read to authenticate the key, one write for everything else: look-ups, the
        # write, the process and its results, and the records the answer shows
        assert opened == {"read": 1, "write": 1}
        with counting(db) as opened:
            r = api.post(
                UPDATE,
                json={"inputs": [{"id": "V1", "idProperty": "vin", "properties": {"make": "Kia"}}]},
            )
        assert r.status_code == 200 and r.json()["results"][0]["properties"]["make"] == "Kia"
        assert opened == {"read": 1, "write": 1}


def vin_when_changed(db: Database, record_id: int, key: str, value: Any) -> list[Any]:
    """The record's ``vin`` at each history row that set ``key`` to ``value``."""
    with db.read() as conn:
        rows = conn.execute(
            sa.select(record_history.c.changes)
            .where(record_history.c.record_id == record_id)
            .order_by(record_history.c.id)
        ).all()
    vin, seen = None, []
    for (changes,) in rows:
        if changes.get(key) == value:
            seen.append(vin)
        if "vin" in changes:
            vin = changes["vin"]
    return seen


def test_an_update_by_a_unique_value_never_lands_on_the_wrong_record(server, db, account):
    """Two real clients: one updates ``vin=V1`` again and again; the other keeps moving V1
    between two records, and deletes and re-creates its holder. Each update lands on the record
    that holds V1 at that moment, or fails alone as not found; nothing else."""
    key = account[1]
    with server.client(key) as api:
        r = api.post(
            "/v3/objects/vehicle/batch/upsert",
            json={
                "records": [
                    {"identifiers": {"ext_id": "a"}, "attributes": {"model": "A", "vin": "V1"}},
                    {"identifiers": {"ext_id": "b"}, "attributes": {"model": "B"}},
                ]
            },
        )
        wait_process(api, r.json()["processId"])
    stop = threading.Event()
    answers: list[tuple[int, Any]] = []

    def updater() -> None:
        with server.client(key) as api:
            n = 0
            while not stop.is_set():
                n += 1
                body = {
                    "inputs": [{"id": "V1", "idProperty": "vin", "properties": {"year": str(n)}}]
                }
                r = api.post(UPDATE, json=body)
                answers.append((r.status_code, r.json()))

    def mover() -> None:
        with server.client(key) as api:
            for round_ in range(20):
                holder, other = ("a", "b") if round_ % 2 else ("b", "a")
                moves = [
                    {"identifiers": {"ext_id": other}, "attributes": {"vin": None}},
                    {"identifiers": {"ext_id": holder}, "attributes": {"vin": "V1"}},
                ]
                r = api.post("/v3/objects/vehicle/batch/upsert", json={"records": moves})
                wait_process(api, r.json()["processId"])
                if round_ in (3, 10):
                    r = api.post(
                        "/v3/objects/vehicle/batch/delete",
                        json={"identifiers": {"ext_ids": [holder]}},
                    )
                    wait_process(api, r.json()["processId"])
                    back = [{"identifiers": {"ext_id": holder}, "attributes": {"model": "X"}}]
                    r = api.post("/v3/objects/vehicle/batch/upsert", json={"records": back})
                    wait_process(api, r.json()["processId"])
        stop.set()

    threads = [threading.Thread(target=updater), threading.Thread(target=mover)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    kinds = Counter(status for status, _ in answers)
    assert set(kinds) <= {200, 207}, kinds
    assert kinds[200] > 0
    checked = 0
    for status, body in answers:
        if status == 200:
            (updated,) = body["results"]
            year = int(updated["properties"]["year"])
            # the record held V1 when the update changed it (unless it was deleted since, and
            # its history with it)
            vins = vin_when_changed(db, int(updated["id"]), "year", year)
            assert set(vins) <= {"V1"}
            checked += len(vins)
        else:
            (error,) = body["errors"]
            assert error["category"] == "OBJECT_NOT_FOUND" and error["context"]["ids"] == ["V1"]
    assert checked >= 5, (checked, kinds)
