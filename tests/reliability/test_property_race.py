"""20 HubSpot property creations at once on one object type that holds records: every one
answered 201 exists afterwards, and none removed another's work (issue 15, item 2). Both
backends; on PostgreSQL the requests really run side by side."""

from __future__ import annotations

import threading

from tests.conftest import wait_process


def test_concurrent_property_creations_all_land(server, account):
    key = account[1]
    with server.client(key) as api:
        r = api.post(
            "/v3/objects/vehicle/batch/upsert",
            json={
                "records": [{"identifiers": {"ext_id": "has-data"}, "attributes": {"model": "m"}}]
            },
        )
        wait_process(api, r.json()["processId"])
    answers: list[int] = []
    start = threading.Barrier(20)

    def create(n: int) -> None:
        with server.client(key) as api:
            start.wait()
            r = api.post(
                "/crm/v3/properties/vehicle",
                json={
                    "name": f"extra_{n}",
                    "label": f"Extra {n}",
                    "type": "string",
                    "fieldType": "text",
                },
                headers={"Authorization": f"Bearer {key}"},
            )
            answers.append(r.status_code)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert answers.count(201) == 20, answers
    with server.client(key) as api:
        attributes = api.get("/v1/schema").json()["object_types"]["vehicle"]["attributes"]
        names = {p["name"] for p in api.get("/crm/v3/properties/vehicle").json()["results"]}
    assert {f"extra_{n}" for n in range(20)} <= set(attributes)
    assert {f"extra_{n}" for n in range(20)} <= names
    assert {"model", "vin", "year"} <= set(attributes)  # nothing of the schema was lost
