"""Contact lists (the first part of the MainBrainer issue): create, read, count; both backends."""

from __future__ import annotations

import uuid


def test_lists_are_created_listed_and_read_with_their_size(api):
    created = api.post("/v1/lists", json={"name": "  Newsletter "})
    assert created.status_code == 201
    body = created.json()
    assert uuid.UUID(body["id"]) and body["name"] == "Newsletter" and body["members"] == 0
    second = api.post("/v1/lists", json={"name": "VIP"}).json()
    assert second["list_id"] > body["list_id"]
    assert [x["name"] for x in api.get("/v1/lists").json()["lists"]] == ["Newsletter", "VIP"]
    assert api.get(f"/v1/lists/{body['id']}").json() == body


def test_bad_list_requests_are_refused_and_change_nothing(api):
    for payload in ({}, {"name": ""}, {"name": "x" * 256}, {"name": 3}):
        r = api.post("/v1/lists", json=payload)
        assert r.status_code == 400, payload
        assert "name" in r.json()["message"]
    missing = api.get(f"/v1/lists/{uuid.uuid4()}")
    assert missing.status_code == 404 and "no list has id" in missing.json()["message"]
    assert api.get("/v1/lists").json() == {"lists": []}
