"""Brevo's events and contacts over HTTP (issue 3): the official brevo-python SDK as a user
calls it, Brevo's bodies and codes for bad input, and reading events and contacts back."""

from __future__ import annotations

import datetime as dt

import pytest
from brevo.core.api_error import ApiError
from brevo.errors import BadRequestError
from brevo.event import (
    CreateBatchEventsRequestEventsItem as BatchEvent,
)
from brevo.event import (
    CreateBatchEventsRequestEventsItemIdentifiers as BatchIds,
)
from brevo.event import (
    CreateBatchEventsRequestEventsItemObject as BatchObject,
)
from brevo.event import (
    CreateBatchEventsRequestEventsItemObjectIdentifiers as BatchObjectIds,
)
from brevo.event import CreateEventRequestIdentifiers

from brevo import Brevo
from tests.conftest import wait_process


def sdk(server, key):
    return Brevo(api_key=key, base_url=f"{server.base_url}/v3", max_retries=0, timeout=30)


def now_iso():
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def latest_process(api):
    return api.get("/v3/processes", params={"limit": 1}).json()["processes"][0]["id"]


def test_the_official_sdk_tracks_events_and_reads_them_back(server, api, account):
    _, key = account
    client = sdk(server, key)
    car = api.post(
        "/v3/objects/vehicle/batch/upsert",
        json={"records": [{"identifiers": {"ext_id": "car-1"}, "attributes": {"model": "Civic"}}]},
    )
    car_id = wait_process(api, car.json()["processId"])["results"][0]["id"]

    assert (
        client.event.create_event(
            event_name="video_played",
            identifiers=CreateEventRequestIdentifiers(email_id="Jane.Doe@example.com"),
            contact_properties={"FIRSTNAME": "Jane", "AGE": 32},
            event_properties={"duration": 142, "autoplayed": False, "tags": ["a", "b"]},
            event_date=dt.datetime(2026, 11, 20, 6, 3, 1, 123809, tzinfo=dt.UTC),
        )
        is None
    )
    wait_process(api, latest_process(api))
    accepted = client.event.create_batch_events(
        events=[
            BatchEvent(
                event_name="order_created",
                identifiers=BatchIds(email_id="jane.doe@example.com", phone_id="+33612345678"),
                event_date="2026-11-21T10:00:00+01:00",
                event_properties={"amount": 99, "items": [{"sku": "x", "qty": 2}]},
                object=BatchObject(type="vehicle", identifiers=BatchObjectIds(id=str(car_id))),
            ),
            BatchEvent(
                event_name="order_created",
                identifiers=BatchIds(ext_id="crm-2"),
                object=BatchObject(type="vehicle", identifiers=BatchObjectIds(ext_id="nope")),
            ),
        ]
    )
    assert accepted.count == 2
    assert accepted.message.startswith("Batch accepted")
    done = wait_process(api, accepted.processId)  # crmbatch adds processId; the SDK keeps it
    assert done["counts"]["created"] == 2
    assert [r["object"]["linked"] for r in done["results"]] == [True, False]
    assert "no vehicle record has ext_id 'nope'" in done["results"][1]["warnings"][0]["message"]

    jane = client.contacts.get_contact_info(identifier="jane.doe@example.com")
    assert jane.email == "jane.doe@example.com"
    attributes = jane.attributes.model_dump()  # the SDK keeps unknown attributes as extras
    assert attributes == {"FIRSTNAME": "Jane", "AGE": 32, "SMS": "+33612345678"}
    assert jane.list_ids == []
    by_phone = client.contacts.get_contact_info(
        identifier="33612345678", identifier_type="phone_id"
    )
    assert by_phone.id == jane.id

    listed = client.event.get_events(
        contact_id=jane.id, start_date="2026-11-01", end_date="2026-11-30"
    )
    assert listed.count == 2
    assert [e.event_name for e in listed.events] == ["order_created", "video_played"]
    newest = listed.events[0]
    assert newest.event_date == dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)
    assert newest.object_type == "vehicle"
    assert newest.event_properties == {"amount": 99, "items": [{"sku": "x", "qty": 2}]}
    assert listed.events[1].contact_properties == {"FIRSTNAME": "Jane", "AGE": 32}

    with pytest.raises(BadRequestError) as bad:
        client.event.create_batch_events(
            events=[BatchEvent(event_name="bad name", identifiers=BatchIds(ext_id="x"))]
        )
    assert bad.value.body["failed_events"] == 1
    with pytest.raises(ApiError) as missing:
        client.contacts.get_contact_info(identifier="nobody@example.com")
    assert missing.value.status_code == 404


def test_some_invalid_events_answer_207_naming_index_and_field(api):
    events = [
        {"event_name": "ok", "identifiers": {"email_id": "a@x.io"}},
        {"event_name": "ok", "identifiers": {}},
        {"event_name": "bad name!", "identifiers": {"ext_id": "e"}},
        {"event_name": "ok", "identifiers": {"ext_id": "e"}, "event_properties": {"a b": 1}},
        {"event_name": "ok", "identifiers": {"ext_id": "e"}, "event_date": "2024-01-24T17:39:57"},
        {"event_name": "ok", "identifiers": {"ext_id": "e"}, "contact_properties": {"AGE": "old"}},
        {"event_name": "ok", "identifiers": {"phone_id": "12"}},
        {"event_name": "ok", "identifiers": {"contact_id": "7"}},
        {"event_name": "ok", "identifiers": {}},
        "not an event",
    ]
    r = api.post("/v3/events/batch", json={"events": events})
    assert r.status_code == 207, r.text
    body = r.json()
    assert (body["count"], body["total_events"], body["successful_events"]) == (1, 10, 1)
    assert body["failed_events"] == 9
    by_index = {i: e["message"] for e in body["errors"] for i in e["eventIndex"]}
    assert sorted(by_index) == list(range(1, 10))
    assert by_index[1].startswith("identifiers: at least one identifier is required")
    assert "contact_id, email_id, ext_id, phone_id" in by_index[1]
    assert by_index[2].startswith("event_name:")
    assert by_index[3].startswith("event_properties.a b: property keys")
    assert by_index[4].startswith("event_date: expected an ISO 8601 date-time with an offset")
    assert by_index[5] == 'contact_properties.AGE: expected a number, got "old"'
    assert by_index[6].startswith("identifiers.phone_id: expected a phone number")
    assert by_index[7].startswith("identifiers.contact_id:")
    # the same problem on two events is one entry listing both
    assert [e["eventIndex"] for e in body["errors"] if 1 in e["eventIndex"]] == [[1, 8]]
    done = wait_process(api, body["processId"])
    assert done["counts"]["received"] == 1 and done["counts"]["created"] == 1
    assert done["results"][0]["index"] == 0
    assert api.get("/v3/events").json()["count"] == 1


def test_all_invalid_is_400_and_stores_nothing(api):
    before = api.get("/v3/processes").json()["count"]
    r = api.post("/v3/events/batch", json={"events": [{"event_name": "x", "identifiers": {}}]})
    assert r.status_code == 400
    assert r.json() == {
        "status": "failed",
        "total_events": 1,
        "successful_events": 0,
        "failed_events": 1,
        "errors": [
            {
                "eventIndex": [0],
                "message": "identifiers: at least one identifier is required (contact_id, "
                "email_id, ext_id, phone_id, whatsapp_id, landline_number_id)",
            }
        ],
    }
    assert api.get("/v3/processes").json()["count"] == before


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        ({"events": []}, 400, "events cannot be empty or more than 200 (got 0)"),
        (
            {"events": [{"event_name": "e", "identifiers": {"ext_id": "x"}}] * 201},
            400,
            "more than 200 (got 201)",
        ),
        ({"events": "nope"}, 400, "an 'events' array"),
        (
            {
                "events": [
                    {
                        "event_name": "e",
                        "identifiers": {"ext_id": "x"},
                        "event_properties": {"p": "x" * 3000},
                    }
                ]
                * 190
            },
            400,
            "over 512 KB",
        ),
    ],
)
def test_batch_limits_refuse_the_whole_request(api, body, status, text):
    r = api.post("/v3/events/batch", json=body)
    assert r.status_code == status, r.text
    assert text in r.json()["message"]
    assert r.json()["code"] in ("out_of_range", "invalid_parameter")
    assert api.get("/v3/processes").json()["count"] == 0


def test_event_properties_over_50_kb_are_refused(api):
    big = {
        "event_name": "e",
        "identifiers": {"ext_id": "x"},
        "event_properties": {"b": "x" * 52000},
    }
    r = api.post("/v3/events", json=big)
    assert r.status_code == 400
    assert r.json() == {
        "code": "invalid_parameter",
        "message": "event_properties: larger than 50 KB",
    }


def test_a_single_event_is_204_with_no_body_and_applies(api):
    r = api.post(
        "/v3/events",
        json={"event_name": "signup", "identifiers": {"whatsapp_id": "+44 7700 900123"}},
    )
    assert r.status_code == 204 and r.content == b""
    wait_process(api, latest_process(api))
    c = api.get("/v3/contacts/447700900123", params={"identifierType": "whatsapp_id"}).json()
    assert c["attributes"] == {"WHATSAPP": "+447700900123"}
    assert "email" not in c


def test_get_events_filters_windows_and_pages(api):
    events = [
        {
            "event_name": name,
            "identifiers": {"ext_id": who},
            "event_date": f"2026-{month:02d}-15T12:00:00Z",
            **({"object": {"type": "vehicle", "identifiers": {"ext_id": "c"}}} if obj else {}),
        }
        for name, who, month, obj in [
            ("viewed", "u1", 6, False),
            ("bought", "u1", 7, True),
            ("viewed", "u2", 8, False),
            ("viewed", "u2", 9, True),
            ("bought", "u3", 10, False),
        ]
    ]
    car = api.post(
        "/v3/objects/vehicle/batch/upsert",
        json={"records": [{"identifiers": {"ext_id": "c"}, "attributes": {"model": "M"}}]},
    )
    wait_process(api, car.json()["processId"])
    done = wait_process(
        api, api.post("/v3/events/batch", json={"events": events}).json()["processId"]
    )
    u2 = done["results"][2]["contact"]["id"]

    def names(**params):
        body = api.get("/v3/events", params=params).json()
        return body["count"], [(e["event_name"], e["event_date"][:7]) for e in body["events"]]

    # default window: the last six months
    cutoff = (dt.datetime.now(dt.UTC) - dt.timedelta(days=183)).strftime("%Y-%m-%dT%H:%M:%SZ")
    count, _ = names()
    assert count == sum(1 for e in events if cutoff <= e["event_date"] <= now_iso())
    window = {"startDate": "2026-01-01", "endDate": "2026-12-31"}
    assert names(**window)[1] == [
        ("bought", "2026-10"),
        ("viewed", "2026-09"),
        ("viewed", "2026-08"),
        ("bought", "2026-07"),
        ("viewed", "2026-06"),
    ]
    assert names(**window, event_name="bought")[0] == 2
    assert names(**window, contact_id=u2)[0] == 2
    assert names(**window, object_type="vehicle")[0] == 2
    assert names(**window, event_name=["bought", "viewed"], object_type="vehicle")[0] == 2
    assert names(**window, limit=2, offset=1) == (5, [("viewed", "2026-09"), ("viewed", "2026-08")])
    assert names(startDate="2026-08-15T12:00:00Z", endDate="2026-09-01")[0] == 1

    for params, text in [
        ({"startDate": "2026-01-01"}, "endDate is required"),
        ({"startDate": "2026-02-01", "endDate": "2026-01-01"}, "must not be after"),
        ({"startDate": "yesterday", "endDate": "2026-01-01"}, "expected YYYY-MM-DD"),
        ({"limit": 0}, "limit"),
        ({"limit": 10001}, "limit"),
    ]:
        r = api.get("/v3/events", params=params)
        assert r.status_code == 400, params
        assert text in r.json()["message"], (params, r.json())


def test_contacts_by_every_identifier_type_and_linked_records(api):
    done = wait_process(
        api,
        api.post(
            "/v3/events/batch",
            json={
                "events": [
                    {
                        "event_name": "e",
                        "identifiers": {
                            "email_id": "Max@Example.com",
                            "ext_id": "crm-9",
                            "phone_id": "0033612000000",
                            "whatsapp_id": "+33612000001",
                            "landline_number_id": "+33140000009",
                        },
                        "contact_properties": {"LASTNAME": "Mustermann"},
                    }
                ]
            },
        ).json()["processId"],
    )
    cid = done["results"][0]["contact"]["id"]
    for ident, kind in [
        ("max@example.com", None),
        ("MAX@example.com", "email_id"),
        (str(cid), None),
        (str(cid), "contact_id"),
        ("crm-9", "ext_id"),
        ("+33612000000", None),
        ("33612000000", "phone_id"),
        ("33612000001", "whatsapp_id"),
        ("+33 1 40 00 00 09", "landline_number_id"),
    ]:
        r = api.get(f"/v3/contacts/{ident}", params={"identifierType": kind} if kind else {})
        assert r.status_code == 200, (ident, kind, r.text)
        assert r.json()["id"] == cid
    c = r.json()
    assert c["email"] == "max@example.com" and c["ext_id"] == "crm-9"
    assert c["attributes"] == {
        "LASTNAME": "Mustermann",
        "SMS": "+33612000000",
        "WHATSAPP": "+33612000001",
        "LANDLINE_NUMBER": "+33140000009",
        "EXT_ID": "crm-9",
    }
    assert api.get("/v3/contacts/crm-9").status_code == 400  # which kind? say so
    assert api.get("/v3/contacts/crm-8", params={"identifierType": "ext_id"}).status_code == 404

    car = api.post(
        "/v3/objects/vehicle/batch/upsert",
        json={
            "records": [
                {
                    "identifiers": {"ext_id": "car-9"},
                    "attributes": {"model": "M"},
                    "associations": [
                        {
                            "object_type": "contact",
                            "records": [{"identifiers": {"ext_id": "crm-9"}}],
                        }
                    ],
                }
            ]
        },
    )
    assert wait_process(api, car.json()["processId"])["results"][0]["status"] == "created"
    for params in ({"email": "max@example.com"}, {"sms": "+33612000000"}, {"ext_id": "crm-9"}):
        linked = api.get("/v3/objects/contact/associated-records", params=params).json()
        assert [i["object"]["ext_id"] for i in linked["items"]] == ["car-9"], params

    native = api.get(f"/v1/contacts/{cid}").json()
    assert native["identifiers"]["EMAIL"] == "max@example.com"
    assert native["attributes"] == {"LASTNAME": "Mustermann"}
    assert [e["name"] for e in native["events"]] == ["e"]
