"""A HubSpot write behind a queued batch of its object type (issue 15, item 4): it waits on the
event loop, holding no thread, so 60 of them do not stall the server; when the wait runs out it
answers 503 with Retry-After and nothing written, so a client that retries creates nothing twice;
once the queue moves, writes go through after it. Both backends."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from crmbatch.config import Settings
from tests.conftest import LiveServer

UPSERT = "/crm/v3/objects/vehicle/batch/upsert"


def vin_upsert(*rows):
    return {"inputs": [{"idProperty": "vin", "id": v, "properties": p} for v, p in rows]}


@pytest.fixture
def patient_server(db, database_url):
    """No worker, and synchronous writes wait 6 s: long enough that, even on a loaded machine,
    the waiting writes are still waiting while the test checks that the server answers."""
    settings = Settings(database_url=database_url, embedded_worker=False, sync_wait=6.0)
    with LiveServer(settings, db) as live:
        yield live


def test_a_write_behind_a_queued_batch_waits_for_it_without_holding_a_thread(
    patient_server, db, settings, account
):
    """A batch of the same type is queued and no worker runs: HubSpot writes wait for it (on
    the event loop), the server keeps answering, and after CRMBATCH_SYNC_WAIT they are refused
    with 503, Retry-After and nothing written; once the queue moves they go through, in order."""
    from crmbatch.worker import drain

    idle_server = patient_server
    key = account[1]
    with idle_server.client(key) as api:
        queued = api.post(
            "/v3/objects/vehicle/batch/upsert",
            json={
                "records": [
                    {"identifiers": {"ext_id": "q"}, "attributes": {"vin": "V9", "year": 1}}
                ]
            },
        )
        assert queued.status_code == 202

    def write(n: int) -> httpx.Response:
        with idle_server.client(key) as api:
            return api.post(UPSERT, json=vin_upsert((f"W{n}", {"model": "m"})), timeout=30)

    results: list[httpx.Response] = []
    waiting = [threading.Thread(target=lambda n=n: results.append(write(n))) for n in range(60)]
    for t in waiting:
        t.start()
    time.sleep(0.3)
    with idle_server.client(key) as api:  # 60 waiting writes, and the server still answers
        assert api.get("/healthz").status_code == 200
        assert api.get("/v1/schema").status_code == 200
        # answered while every write still waits: had each held a thread, the pool (40) would
        # be full until the first of them gave up
        assert results == []
    for t in waiting:
        t.join(30)
    assert [r.status_code for r in results] == [503] * 60
    refused = results[0]
    assert refused.headers["Retry-After"] == "2"
    assert refused.json()["category"] == "SERVICE_UNAVAILABLE"
    assert "nothing was written" in refused.json()["message"]
    with idle_server.client(key) as api:
        listed = api.get("/crm/v3/objects/vehicle").json()["results"]
        assert listed == []  # not even the queued batch: no worker ran yet
        drain(db, settings)
        r = api.post(UPSERT, json=vin_upsert(("V9", {"year": "2"})))
        assert r.status_code == 200 and r.json()["results"][0]["new"] is False  # after the queue
        assert r.json()["results"][0]["properties"]["year"] == "2"
