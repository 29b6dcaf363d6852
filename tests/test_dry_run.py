"""``?dry_run=true`` on every batch write of every dialect, against a real server on both
backends: the answer is what applying the batch really does afterwards (same statuses, errors
and warnings, item by item), and the dry run itself writes nothing at all."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from crmbatch.db.tables import metadata
from tests.conftest import wait_process

UPSERT = "/v3/objects/vehicle/batch/upsert"


def dump(db: Any) -> dict[str, list[str]]:
    """Every row of every table, as text: what must not move during a dry run."""
    with db.read() as conn:
        return {
            t.name: sorted(repr(tuple(row)) for row in conn.execute(sa.select(t)))
            for t in metadata.sorted_tables
        }


def dry(api: Any, method: str, path: str, **kw: Any) -> dict[str, Any]:
    r = api.request(method, path, params={**kw.pop("params", {}), "dry_run": "true"}, **kw)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["dry_run"] is True
    return body


def same(planned: dict[str, Any], done: dict[str, Any]) -> None:
    """The dry run's results are the applied batch's, item by item; a record the batch
    creates has no id in the dry run (nor when a later item of the batch updates it)."""
    assert [r["index"] for r in planned["results"]] == [r["index"] for r in done["results"]]
    created = {d["id"] for d in done["results"] if d["status"] == "created"}
    for p, d in zip(planned["results"], done["results"], strict=True):
        assert (p["status"], p["errors"], p["warnings"]) == (
            d["status"],
            d["errors"],
            d["warnings"],
        )
        assert p["ext_id"] == d["ext_id"]
        if p["id"] is None and d["id"] is not None:
            assert d["id"] in created
        else:
            assert p["id"] == d["id"]
    assert planned["counts"] == done["counts"]


def latest_process(api: Any) -> dict[str, Any]:
    pid = api.get("/v3/processes", params={"limit": 1, "sort": "desc"}).json()["processes"][0]
    return wait_process(api, pid["id"])


def seeded(api: Any) -> dict[str, Any]:
    r = api.post(
        UPSERT,
        json={
            "records": [
                {"identifiers": {"ext_id": "old"}, "attributes": {"model": "Old", "vin": "V-OLD"}},
                {"identifiers": {"ext_id": "gone"}, "attributes": {"model": "Gone"}},
            ]
        },
    )
    garage = api.post(
        "/v3/objects/garage/batch/upsert",
        json={"records": [{"identifiers": {"ext_id": "g1"}, "attributes": {"name": "G"}}]},
    )
    done = wait_process(api, r.json()["processId"])
    wait_process(api, garage.json()["processId"])
    return {r["ext_id"]: r["id"] for r in done["results"]}


BREVO_BATCH = [
    {"identifiers": {"ext_id": "new"}, "attributes": {"model": "New", "vin": "V-1"}},
    {"identifiers": {"ext_id": "old"}, "attributes": {"year": 2001, "Colour": "red"}},
    {"identifiers": {"id": 987654}, "attributes": {"model": "ghost"}},
    {"identifiers": {"ext_id": "dup"}, "attributes": {"vin": "V-1"}},
    {
        "identifiers": {"ext_id": "linked"},
        "attributes": {"model": "L"},
        "associations": [{"object_type": "garage", "records": [{"identifiers": {"ext_id": "g1"}}]}],
    },
    {
        "identifiers": {"ext_id": "nolink"},
        "associations": [{"object_type": "garage", "records": [{"identifiers": {"ext_id": "g9"}}]}],
    },
]


def test_a_brevo_upsert_dry_run_is_what_the_upsert_then_does(api, db):
    seeded(api)
    before = dump(db)
    planned = dry(
        api,
        "POST",
        UPSERT,
        json={"records": BREVO_BATCH},
        params={"notify_url": "https://hooks.example.com/x"},
        headers={"Idempotency-Key": "k1"},
    )
    assert dump(db) == before  # no record, history, process, key or webhook
    statuses = [r["status"] for r in planned["results"]]
    assert statuses == ["created", "updated", "failed", "failed", "created", "failed"]
    conflict = planned["results"][3]["errors"][0]
    assert conflict["code"] == "unique_violation"
    assert "created by item 0 of this batch (ext_id 'new')" in conflict["message"]
    assert "-" not in conflict["message"].split("record")[-1]  # no provisional id
    assert planned["results"][1]["warnings"][0]["suggestion"] == "color"
    assert planned["applied_through"] is not None

    # the same key with another body is a new request: the dry run left no idempotency entry
    r = api.post(UPSERT, json={"records": BREVO_BATCH}, headers={"Idempotency-Key": "k1"})
    assert r.status_code == 202 and "Idempotent-Replayed" not in r.headers
    same(planned, wait_process(api, r.json()["processId"]))


def test_a_brevo_delete_dry_run_is_what_the_delete_then_does(api, db):
    ids = seeded(api)
    body = {"identifiers": {"ids": [ids["gone"], 4242, ids["gone"]]}}
    before = dump(db)
    planned = dry(api, "POST", "/v3/objects/vehicle/batch/delete", json=body)
    assert dump(db) == before
    assert [r["status"] for r in planned["results"]] == ["deleted", "failed", "failed"]
    r = api.post("/v3/objects/vehicle/batch/delete", json=body)
    same(planned, wait_process(api, r.json()["processId"]))


def test_an_events_dry_run_is_what_the_events_then_do(api, db):
    seeded(api)
    api.post(
        "/v3/events/batch",
        json={"events": [{"event_name": "seen", "identifiers": {"email_id": "known@example.com"}}]},
    )
    events = [
        {"event_name": "bought", "identifiers": {"email_id": "known@example.com"}},
        {"event_name": "bad name!", "identifiers": {"email_id": "x@example.com"}},
        {
            "event_name": "bought",
            "identifiers": {"email_id": "new@example.com"},
            "contact_properties": {"AGE": 30},
            "object": {"type": "vehicle", "identifiers": {"ext_id": "nope"}},
        },
    ]
    latest_process(api)
    before = dump(db)
    planned = dry(api, "POST", "/v3/events/batch", json={"events": events})
    assert dump(db) == before
    assert [r["status"] for r in planned["results"]] == ["created", "failed", "created"]
    assert planned["results"][1]["errors"][0]["field"] == "event_name"
    assert [r["contact"]["status"] for r in (planned["results"][0], planned["results"][2])] == [
        "unchanged",
        "created",
    ]
    r = api.post("/v3/events/batch", json={"events": events})
    assert r.status_code == 207
    assert [e["eventIndex"] for e in r.json()["errors"]] == [[1]]  # refused at once, as planned
    done = wait_process(api, r.json()["processId"])
    refused = planned["results"].pop(1)
    assert refused["status"] == "failed"
    planned["counts"] = {**planned["counts"], "received": 2, "failed": 0}
    for p, d in zip(planned["results"], done["results"], strict=True):
        assert (p["index"], p["status"], p["warnings"]) == (d["index"], d["status"], d["warnings"])
        assert p["id"] is None and d["id"] is not None  # an event has no id before it is stored
        assert p["contact"]["status"] == d["contact"]["status"]
        assert p["object"] == d["object"]
    assert planned["counts"] == done["counts"]
    single = dry(api, "POST", "/v3/events", json=events[0])
    assert [r["status"] for r in single["results"]] == ["created"]


def test_hubspot_dry_runs_are_what_the_writes_then_do(api, db):
    ids = seeded(api)
    writes: list[tuple[str, str, dict[str, Any]]] = [
        (
            "POST",
            "/crm/v3/objects/vehicle/batch/upsert",
            {
                "inputs": [
                    {"idProperty": "vin", "id": "V-OLD", "properties": {"year": "1999"}},
                    {"idProperty": "vin", "id": "V-2", "properties": {"model": "Two"}},
                    {"idProperty": "vin", "id": "V-3", "properties": {"year": "old"}},
                    {"idProperty": "vin", "id": "V-4", "properties": {"colour": "red"}},
                ]
            },
        ),
        (
            "POST",
            "/crm/v3/objects/vehicle/batch/update",
            {
                "inputs": [
                    {"id": "V-OLD", "idProperty": "vin", "properties": {"make": "Ford"}},
                    {"id": "V-NONE", "idProperty": "vin", "properties": {"make": "Ford"}},
                    {"id": str(ids["gone"]), "properties": {"make": "Kia"}},
                    {"id": "abc", "properties": {"make": "Kia"}},
                ]
            },
        ),
        (
            "POST",
            "/crm/v3/objects/vehicle/batch/create",
            {"inputs": [{"properties": {"vin": "V-OLD"}}]},
        ),
        ("POST", "/crm/v3/objects/vehicle", {"properties": {"model": "Single"}}),
        ("PATCH", f"/crm/v3/objects/vehicle/{ids['old']}", {"properties": {"year": "2002"}}),
        (
            "POST",
            "/crm/v3/objects/vehicle/batch/archive",
            {"inputs": [{"id": str(ids["gone"])}, {"id": "5"}]},
        ),
        ("DELETE", f"/crm/v3/objects/vehicle/{ids['old']}", {}),
    ]
    for method, path, body in writes:
        extra = {"json": body} if body else {}
        before = dump(db)
        planned = dry(api, method, path, **extra)
        assert dump(db) == before, path
        r = api.request(method, path, **extra)
        assert r.status_code < 300 or r.status_code == 207, (path, r.text)
        same(planned, latest_process(api))
    upsert = dry(api, "POST", "/crm/v3/objects/vehicle/batch/upsert", json=writes[0][2])
    assert [r["status"] for r in upsert["results"]] == [
        "updated",  # V-OLD was archived by the last write: an upsert restores it
        "unchanged",
        "failed",
        "failed",
    ]
    assert upsert["results"][3]["errors"][0]["code"] == "unknown_attribute"
    assert "did you mean 'color'?" in upsert["results"][3]["errors"][0]["message"]


def test_a_mainbrainer_dry_run_is_what_the_batch_then_does(api, db, account):
    key = account[1]
    headers = {"Authorization": f"Bearer {key}"}
    body = {
        "createUpdateContacts": [
            {
                "email": "ann@example.com",
                "propertyFields": [{"propertyName": "AGE", "propertyValue": "3x"}],
            },
            {"contactId": 999999},
            {"mobileCountryCode": 44, "mobileNumber": 7700900123},
            {
                "email": "ANN@example.com",
                "propertyFields": [{"propertyName": "AGE", "propertyValue": "40"}],
            },
        ]
    }
    before = dump(db)
    planned = dry(api, "POST", "/mainbrainer/contacts/batch", json=body, headers=headers)
    assert dump(db) == before
    statuses = [r["status"] for r in planned["results"]]
    assert statuses == ["created", "skipped", "created", "updated"]
    assert planned["results"][1]["errors"][0]["code"] == "contact_not_found"
    r = api.post("/mainbrainer/contacts/batch", json=body, headers=headers)
    assert r.status_code == 202
    same(planned, wait_process(api, int(r.json()["data"]["batchId"])))


def test_a_dry_run_sees_only_what_is_applied_and_says_how_far(idle_server, account):
    with idle_server.client(account[1]) as api:
        first = {"records": [{"identifiers": {"ext_id": "q"}, "attributes": {"model": "Q"}}]}
        assert dry(api, "POST", UPSERT, json=first)["applied_through"] is None
        queued = api.post(UPSERT, json=first).json()["processId"]
        planned = dry(api, "POST", UPSERT, json=first)
        # the queued batch is not applied yet: the dry run still sees no record "q"
        assert planned["applied_through"] is None
        assert [r["status"] for r in planned["results"]] == ["created"]
        assert api.get(f"/v1/processes/{queued}").json()["status"] == "queued"
