"""Brevo's object endpoints over real HTTP: status codes, bodies, limits, on both backends."""

from __future__ import annotations

import json

import pytest

from tests.conftest import make_account, wait_process

UPSERT = "/v3/objects/vehicle/batch/upsert"


def upsert(api, records, path=UPSERT, **kw):
    return api.post(path, json={"records": records}, **kw)


def applied(api, records, path=UPSERT):
    r = upsert(api, records, path)
    assert r.status_code == 202, r.text
    return wait_process(api, r.json()["processId"])


def listing(api, **params):
    q = {"limit": 1000, "page_num": 1, "sort": "asc", **params}
    r = api.get("/v3/objects/vehicle/records", params=q)
    assert r.status_code == 200, r.text
    return r.json()


def test_upsert_answers_202_with_a_process_id_and_applies(api):
    r = upsert(
        api, [{"identifiers": {"ext_id": "car-1"}, "attributes": {"model": "Civic", "year": 2021}}]
    )
    assert r.status_code == 202
    body = r.json()
    assert body["message"] == "Batch object records are being processed"
    assert isinstance(body["processId"], int)
    wait_process(api, body["processId"])
    p = api.get(f"/v3/processes/{body['processId']}").json()
    assert p == {
        "id": body["processId"],
        "name": "OBJECT_RECORDS_UPSERT",
        "status": "completed",
        "info": {"results_url": f"/v1/processes/{body['processId']}"},
    }
    page = listing(api)
    assert page["count"] == 1
    rec = page["records"][0]
    assert rec["identifiers"]["ext_id"] == "car-1" and rec["attributes"] == {
        "model": "Civic",
        "year": 2021,
    }
    assert rec["createdAt"].endswith("Z") and "associations" not in rec


def test_listing_pages_sorts_and_counts(api):
    applied(
        api,
        [{"identifiers": {"ext_id": f"c{i}"}, "attributes": {"model": f"m{i}"}} for i in range(7)],
    )
    asc = listing(api, limit=3, page_num=1)
    assert asc["count"] == 7 and [r["identifiers"]["ext_id"] for r in asc["records"]] == [
        "c0",
        "c1",
        "c2",
    ]
    desc = listing(api, limit=3, page_num=1, sort="desc")
    assert [r["identifiers"]["ext_id"] for r in desc["records"]] == ["c6", "c5", "c4"]
    default = api.get("/v3/objects/vehicle/records", params={"limit": 2, "page_num": 1}).json()
    assert default["records"][0]["identifiers"]["ext_id"] == "c6"  # Brevo's default is desc
    counted = listing(api, limit=0, page_num=1)  # Brevo's minimum is 0: the count alone
    assert counted == {"count": 7, "records": []}
    past = listing(api, limit=3, page_num=9)
    assert past == {"count": 7, "records": []}
    for bad in (
        {"limit": 1001, "page_num": 1},
        {"limit": 5, "page_num": 0},
        {"page_num": 1},
        {"limit": 5, "page_num": 1, "sort": "up"},
    ):
        r = api.get("/v3/objects/vehicle/records", params=bad)
        assert r.status_code == 400, bad
        assert r.json()["code"] == "invalid_parameter"


def test_update_by_id_and_by_ext_id_link_and_unlink_in_one_entry(api):
    g = applied(
        api,
        [{"identifiers": {"ext_id": f"g{i}"}, "attributes": {"name": f"G{i}"}} for i in range(3)],
        "/v3/objects/garage/batch/upsert",
    )
    gid = [r["id"] for r in g["results"]]
    p = applied(
        api,
        [
            {
                "identifiers": {"ext_id": "car"},
                "attributes": {"model": "A"},
                "associations": [
                    {
                        "object_type": "garage",
                        "records": [
                            {"identifiers": {"id": gid[0]}},
                            {"identifiers": {"ext_id": "g1"}},
                        ],
                    }
                ],
            },
        ],
    )
    car = p["results"][0]["id"]
    p2 = applied(
        api,
        [
            {
                "identifiers": {"id": car},
                "attributes": {"year": 2000},
                "associations": [
                    {
                        "object_type": "garage",
                        "action": "unlink",
                        "records": [{"identifiers": {"ext_id": "g0"}}],
                    },
                    {
                        "object_type": "garage",
                        "action": "link",
                        "records": [{"identifiers": {"ext_id": "g2"}}],
                    },
                ],
            },
        ],
    )
    assert [r["status"] for r in p2["results"]] == ["updated"]
    rec = listing(api, association="true")["records"][0]
    assert rec["attributes"] == {"model": "A", "year": 2000}
    assert rec["associations"] == [
        {
            "object_type": "garage",
            "records": [{"identifiers": {"id": gid[1]}}, {"identifiers": {"id": gid[2]}}],
        }
    ]
    r = api.get("/v3/objects/garage/associated-records", params={"ext_id": "g2"})
    assert r.status_code == 200
    body = r.json()
    assert body["has_more"] is False and body["offset"] == 0
    assert [(i["type"], i["object"]["id"], i["object"]["ext_id"]) for i in body["items"]] == [
        ("vehicle", car, "car")
    ]
    assert set(body["items"][0]["object"]) == {
        "id",
        "ext_id",
        "attributes",
        "created_at",
        "updated_at",
    }
    # unlink is idempotent; linking what is linked changes nothing
    p3 = applied(
        api,
        [
            {
                "identifiers": {"id": car},
                "associations": [
                    {
                        "object_type": "garage",
                        "action": "unlink",
                        "records": [{"identifiers": {"ext_id": "g0"}}],
                    },
                    {"object_type": "garage", "records": [{"identifiers": {"ext_id": "g1"}}]},
                ],
            }
        ],
    )
    assert p3["results"][0]["status"] == "unchanged"


def test_a_record_whose_association_fails_changes_nothing_and_fails_alone(api):
    applied(api, [{"identifiers": {"ext_id": "car"}, "attributes": {"model": "A"}}])
    p = applied(
        api,
        [
            {
                "identifiers": {"ext_id": "car"},
                "attributes": {"model": "B"},
                "associations": [
                    {"object_type": "garage", "records": [{"identifiers": {"ext_id": "nope"}}]}
                ],
            },
            {
                "identifiers": {"ext_id": "car2"},
                "attributes": {"model": "C"},
                "associations": [
                    {"object_type": "vehicle", "records": [{"identifiers": {"ext_id": "car"}}]}
                ],
            },
            {"identifiers": {"ext_id": "car3"}, "attributes": {"model": "D"}},
        ],
    )
    assert [r["status"] for r in p["results"]] == ["failed", "failed", "created"]
    assert p["results"][0]["errors"][0]["code"] == "association_target_not_found"
    assert p["results"][0]["errors"][0]["field"] == "associations[0].records[0].identifiers"
    assert p["results"][1]["errors"][0]["code"] == "association_not_defined"
    models = {r["identifiers"]["ext_id"]: r["attributes"]["model"] for r in listing(api)["records"]}
    assert models == {"car": "A", "car3": "D"}


@pytest.mark.parametrize(
    ("records", "status", "code", "text"),
    [
        ([], 400, "out_of_range", "records cannot be empty or more than 1000"),
        ([{"attributes": {"model": "x"}}] * 1001, 400, "out_of_range", "records cannot be empty"),
        (
            [{"attributes": {"model": "x", "year": "abc"}}],
            400,
            "invalid_parameter",
            'records[0].attributes.year: expected a number, got "abc"',
        ),
        (
            [{"identifiers": {"ids": [1]}, "attributes": {"model": "x"}}],
            400,
            "invalid_parameter",
            "use id (singular), not ids",
        ),
        (
            [{"identifiers": {"id": "x"}, "attributes": {"model": "x"}}],
            400,
            "invalid_parameter",
            "records[0].identifiers.id",
        ),
        (
            [{"identifiers": {"ext_id": "a"}}],
            400,
            "invalid_parameter",
            "at least one attribute or association",
        ),
        (
            [
                {
                    "attributes": {"model": "x"},
                    "associations": [
                        {
                            "object_type": "garage",
                            "records": [{"identifiers": {"id": i + 1}} for i in range(11)],
                        }
                    ],
                }
            ],
            400,
            "invalid_parameter",
            "at most 10 garage records to link per record",
        ),
        (
            [
                {
                    "attributes": {"model": "x"},
                    "associations": [
                        {
                            "object_type": "garage",
                            "action": "relink",
                            "records": [{"identifiers": {"id": 1}}],
                        }
                    ],
                }
            ],
            400,
            "invalid_parameter",
            "records[0].associations[0].action",
        ),
        (
            [{"attributes": {f"a{i}": i for i in range(501)}}],
            400,
            "invalid_parameter",
            "at most 500 attributes",
        ),
    ],
)
def test_bad_batches_are_refused_with_brevos_codes_and_store_nothing(
    api, records, status, code, text
):
    r = upsert(api, records)
    assert r.status_code == status, r.text
    assert r.json()["code"] == code
    assert text in r.json()["message"]
    assert api.get("/v3/processes").json()["count"] == 0


def test_malformed_and_oversized_bodies(api):
    r = api.post(UPSERT, content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "not valid JSON" in r.json()["message"]
    r = api.post(UPSERT, content=b"", headers={"content-type": "application/json"})
    assert r.status_code == 400
    big = json.dumps({"records": [{"attributes": {"model": "x" * 1100}}] * 1000}).encode()
    assert len(big) > 1024 * 1024
    r = api.post(UPSERT, content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["code"] == "out_of_range"

    def trickle():
        yield b'{"records": ['
        for _ in range(1200):
            yield json.dumps({"attributes": {"model": "y" * 1000}}).encode() + b","
        yield b'{"attributes": {"model": "z"}}]}'

    r = api.post(UPSERT, content=trickle(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert api.get("/v3/processes").json()["count"] == 0


def test_object_type_errors(api):
    body = {"records": [{"attributes": {"model": "x"}}]}
    r = api.post("/v3/objects/spaceship/batch/upsert", json=body)
    assert (r.status_code, r.json()["code"]) == (404, "document_not_found")
    r = api.post("/v3/objects/contact/batch/upsert", json=body)
    assert (r.status_code, r.json()["code"]) == (403, "permission_denied")
    r = api.post("/v3/objects/Bad-Name/batch/upsert", json=body)
    assert (r.status_code, r.json()["code"]) == (400, "invalid_parameter")
    r = api.get("/v3/objects/spaceship/records", params={"limit": 1, "page_num": 1})
    assert r.status_code == 400 and r.json()["code"] == "invalid_parameter"  # Brevo's document
    assert "invalid object_type" in r.json()["message"]
    r = api.post("/v3/objects/vehicel/batch/upsert", json=body)
    assert r.status_code == 404
    message = r.json()["message"]
    assert "did you mean 'vehicle'?" in message and "crmbatch schema apply" in message
    assert "garage, insurance, vehicle" in message


def test_authentication(server, api, db, account):
    with server.client() as anon:
        r = anon.get("/v3/processes")
        assert r.status_code == 401
        assert r.json() == {
            "code": "unauthorized",
            "message": "authentication not found in headers; send your key in the api-key header"
            " (api-key: YOUR_KEY)",
        }
        r = anon.get("/v3/processes", headers={"api-key": "crm_wrong"})
        assert r.json()["message"].startswith("Key not found; send your key in the api-key")
        hubspot = anon.get("/crm/v3/objects/vehicle").json()
        assert hubspot["category"] == "INVALID_AUTHENTICATION"
        assert "Authorization: Bearer YOUR_KEY" in hubspot["message"]
        assert "hubspot.com" not in hubspot["message"]  # no link to HubSpot's OAuth page
        assert (
            "api-key: YOUR_KEY or Authorization: Bearer" in anon.get("/v1/schema").json()["message"]
        )
        r = anon.get("/v3/processes", headers={"Authorization": f"Bearer {account[1]}"})
        assert r.status_code == 200
        r = anon.get("/v1/schema", headers={"Authorization": f"Bearer {account[1]}"})
        assert r.status_code == 200 and "vehicle" in r.json()["object_types"]
    from crmbatch.core.accounts import service

    with db.write() as conn:
        service.revoke_key(conn, account[1][:12])
    r = api.get("/v3/processes")
    assert r.status_code == 401 and "this key was revoked on 20" in r.json()["message"]


def test_idempotency_key_returns_the_first_answer_and_refuses_another_body(api):
    records = [{"identifiers": {"ext_id": "idem"}, "attributes": {"model": "A"}}]
    r1 = upsert(api, records, headers={"Idempotency-Key": "k-1"})
    r2 = upsert(api, records, headers={"Idempotency-Key": "k-1"})
    assert r1.status_code == r2.status_code == 202
    assert r1.json() == r2.json()
    wait_process(api, r1.json()["processId"])
    assert api.get("/v3/processes").json()["count"] == 1
    r3 = upsert(
        api,
        [{"identifiers": {"ext_id": "idem"}, "attributes": {"model": "B"}}],
        headers={"Idempotency-Key": "k-1"},
    )
    assert r3.status_code == 409 and r3.json()["code"] == "duplicate_request"
    assert listing(api)["records"][0]["attributes"] == {"model": "A"}


def test_batch_delete(api):
    p = applied(
        api, [{"identifiers": {"ext_id": f"d{i}"}, "attributes": {"model": "m"}} for i in range(3)]
    )
    ids = [r["id"] for r in p["results"]]
    r = api.post(
        "/v3/objects/vehicle/batch/delete", json={"identifiers": {"ext_ids": ["d0", "zz"]}}
    )
    assert r.status_code == 202
    assert r.json()["message"] == "Batch object records are being processed for deletion."
    d = wait_process(api, r.json()["processId"])
    assert [x["status"] for x in d["results"]] == ["deleted", "failed"]
    r = api.post("/v3/objects/vehicle/batch/delete", json={"identifiers": {"ids": [ids[1]]}})
    wait_process(api, r.json()["processId"])
    assert [x["identifiers"]["ext_id"] for x in listing(api)["records"]] == ["d2"]
    for bad in (
        {"identifiers": {"ids": [1], "ext_ids": ["a"]}},
        {"identifiers": {}},
        {"identifiers": {"ids": []}},
    ):
        r = api.post("/v3/objects/vehicle/batch/delete", json=bad)
        assert r.status_code == 400, bad


def test_processes_listing(api):
    for i in range(3):
        applied(api, [{"attributes": {"model": str(i)}}])
    body = api.get("/v3/processes", params={"limit": 2, "sort": "asc"}).json()
    assert body["count"] == 3 and len(body["processes"]) == 2
    assert body["processes"][0]["id"] < body["processes"][1]["id"]
    assert api.get("/v3/processes", params={"limit": 51}).status_code == 400
    r = api.get("/v3/processes/999999")
    assert (r.status_code, r.json()["code"]) == (404, "document_not_found")


def test_schema_over_http_round_trips(api):
    doc = api.get("/v1/schema").json()
    r = api.put("/v1/schema", json=doc)
    assert r.status_code == 200 and r.headers["X-Crmbatch-Schema-Changes"] == "0"
    doc["object_types"]["garage"]["attributes"]["city"] = {"type": "text"}
    r = api.put("/v1/schema", json=doc)
    assert r.headers["X-Crmbatch-Schema-Changes"] == "1"
    assert "city" in r.json()["object_types"]["garage"]["attributes"]
    r = api.put(
        "/v1/schema", json={"object_types": {"x": {"attributes": {"a": {"type": "colour"}}}}}
    )
    assert r.status_code == 400 and "object_types.x.attributes.a.type" in r.json()["message"]


def test_health_and_metrics(server, api):
    with server.client() as anon:
        health = anon.get("/healthz").json()
        assert health["status"] == "ok" and health["processes"]["worker"]["running"]
        applied(api, [{"attributes": {"model": "m"}}])
        text = anon.get("/metrics").text
        assert "crmbatch_batches_accepted_total" in text
        assert 'crmbatch_records_applied_total{kind="objects_upsert",status="created"}' in text
        assert "crmbatch_queue_depth" in text
        assert anon.get("/openapi.json").json()["paths"]["/v3/objects/{object_type}/batch/upsert"][
            "post"
        ]["requestBody"]


def test_accounts_do_not_see_each_other(server, api, db):
    applied(api, [{"identifiers": {"ext_id": "secret-a"}, "attributes": {"model": "A-only"}}])
    pid = api.get("/v3/processes").json()["processes"][0]["id"]
    from tests.conftest import VEHICLE_SCHEMA

    _, key_b = make_account(db, schema=VEHICLE_SCHEMA)
    with server.client(key_b) as b:
        assert b.get(f"/v3/processes/{pid}").status_code == 404
        assert b.get(f"/v1/processes/{pid}").status_code == 404
        assert b.get("/v3/processes").json() == {"count": 0, "processes": []}
        assert listing(b) == {"count": 0, "records": []}
        r = b.get("/v3/objects/vehicle/associated-records", params={"ext_id": "secret-a"})
        assert r.status_code == 404
        # B updating A's record by id fails: ids are not shared across accounts
        a_id = listing(api)["records"][0]["identifiers"]["id"]
        p = applied(b, [{"identifiers": {"id": a_id}, "attributes": {"model": "B"}}])
        assert p["results"][0]["errors"][0]["code"] == "record_not_found"
    assert listing(api)["records"][0]["attributes"] == {"model": "A-only"}


def test_process_timestamps_are_in_order(api):
    for _ in range(5):  # the worker often waits on the accept it is about to claim
        p = applied(api, [{"attributes": {"model": "t"}}])
        assert p["requested_at"] <= p["started_at"] <= p["completed_at"], p


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v3/processes/9223372036854775808", {}),
        ("/v1/processes/160374478897602307876594909184", {}),
        ("/v3/processes", {"offset": 2**64}),
        ("/v3/objects/vehicle/records", {"limit": 1000, "page_num": 2**62}),
        ("/v3/objects/vehicle/associated-records", {"id": 2**63}),
    ],
)
def test_numbers_beyond_64_bits_are_a_400_not_a_500(api, path, params):
    """Found by schemathesis: such ids and offsets overflowed the database driver."""
    r = api.get(path, params=params)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "invalid_parameter"


@pytest.mark.parametrize(
    "record",
    [
        {"identifiers": {"id": 2**63}, "attributes": {"model": "x"}},
        {"identifiers": {"ext_id": "a\x00b"}, "attributes": {"model": "x"}},
        {"attributes": {"model": "nul\x00inside"}},
    ],
)
def test_values_the_database_cannot_store_are_refused_at_once(api, record):
    r = upsert(api, [record])
    assert r.status_code == 400, r.text
    assert api.get("/v3/processes").json()["count"] == 0


@pytest.mark.parametrize(
    ("path", "params", "text"),
    [
        ("/v3/objects/vehicle/associated-records", {}, "exactly one of id, ext_id, email or sms"),
        ("/v3/objects/vehicle/associated-records", {"id": 1, "ext_id": "a"}, "exactly one of"),
        ("/v3/objects/vehicle/associated-records", {"email": "a@b.c"}, "contacts only"),
    ],
)
def test_associated_records_need_exactly_one_identifier(api, path, params, text):
    r = api.get(path, params=params)
    assert r.status_code == 400 and text in r.json()["message"], r.text


def test_a_process_being_applied_is_in_process_the_word_old_sdks_accept(idle_server, db, account):
    from crmbatch.core.processes.lifecycle import claim

    with idle_server.client(account[1]) as api:
        pid = upsert(api, [{"attributes": {"model": "m"}}]).json()["processId"]
        assert api.get(f"/v3/processes/{pid}").json()["status"] == "queued"
        claim(db, "a-worker", 30)  # taken by a worker, not yet applied
        # specs/brevo.md: sib-api-v3-sdk raises unless queued, in_process or completed.
        assert api.get(f"/v3/processes/{pid}").json()["status"] == "in_process"
        assert api.get("/v3/processes").json()["processes"][0]["status"] == "in_process"
