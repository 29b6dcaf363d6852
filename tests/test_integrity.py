"""What an attacker's afternoon found (issue 15), each item against a real server on both
backends: a bad record fails alone with the same limits everywhere, integers stay integers,
warnings cannot blow a process up, no input answers 500, idempotency covers the webhook target,
and identifiers compare the way people read them."""

from __future__ import annotations

import threading
import tracemalloc
from typing import Any

import pytest

from crmbatch.core.webhooks import targets
from tests.conftest import wait_process

UPSERT = "/v3/objects/vehicle/batch/upsert"
HS_UPSERT = "/crm/v3/objects/vehicle/batch/upsert"


def applied(api: Any, records: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    r = api.post(UPSERT, json={"records": records}, **kw)
    assert r.status_code == 202, r.text
    return wait_process(api, r.json()["processId"])


# -- 1: a long unique value fails its record alone, the same on both backends -----------------


@pytest.mark.parametrize("vin", ["V" * 1100, "\U0001f600" * 1000, "\U0001f600" * 256])
def test_a_unique_value_too_long_to_index_fails_its_record_alone(api, vin):
    done = applied(
        api,
        [
            {"identifiers": {"ext_id": "ok"}, "attributes": {"model": "fine", "vin": "V-OK"}},
            {"identifiers": {"ext_id": "long"}, "attributes": {"model": "long", "vin": vin}},
        ],
    )
    assert done["status"] == "completed"
    assert [r["status"] for r in done["results"]] == ["created", "failed"]
    error = done["results"][1]["errors"][0]
    assert error["code"] == "invalid_value" and error["field"] == "attributes.vin"
    assert "at most 255 characters" in error["message"]
    listed = api.get("/v3/objects/vehicle/records", params={"limit": 10, "page_num": 1}).json()
    assert [r["identifiers"]["ext_id"] for r in listed["records"]] == ["ok"]
    r = api.post(HS_UPSERT, json={"inputs": [{"idProperty": "vin", "id": vin, "properties": {}}]})
    assert r.status_code == 207 and r.json()["errors"][0]["category"] == "VALIDATION_ERROR"
    longest = "\U0001f600" * 255  # the longest value that fits, in four-byte characters
    assert applied(api, [{"attributes": {"model": "m", "vin": longest}}])["counts"]["created"] == 1


# -- 3: integers of any size are kept exact, and refused where they do not fit ----------------


def test_integers_beyond_64_bits_are_refused_not_turned_into_floats(api):
    r = api.post(
        UPSERT,
        content=b'{"records": [{"attributes": {"model": "m", "year": 12345678901234567890123}}]}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400
    assert r.json()["message"] == "records[0].attributes.year: number out of range"
    for path, body, shape in (
        (
            "/crm/v3/objects/vehicle/batch/read",
            b'{"inputs":[{"id":18446744073709551616}]}',
            "category",
        ),
        (UPSERT, b'{"records":[{"attributes":18446744073709551616}]}', "code"),
        ("/v3/events/batch", b'{"events": 18446744073709551616}', "code"),
    ):
        r = api.post(path, content=body, headers={"content-type": "application/json"})
        assert r.status_code == 400, (path, r.text)
        assert shape in r.json(), r.json()  # in the dialect's own error shape
    r = api.post(
        HS_UPSERT,
        json={
            "inputs": [
                {"idProperty": "vin", "id": "V1", "properties": {"year": "12345678901234567890123"}}
            ]
        },
    )
    assert r.status_code == 207
    assert "number out of range" in r.json()["errors"][0]["message"]
    r = api.post(
        "/v3/events/batch",
        content=b'{"events": [{"event_name": "x", "identifiers": {"email_id": "a@b.io"},'
        b' "event_properties": {"n": 18446744073709551616}}]}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400 and "event_properties.n: number out of range" in r.text
    assert api.get("/v3/processes").json()["count"] == 1  # the HubSpot write's, its input failed


# -- 6: warnings cannot make a process (or the answers about it) huge -------------------------


def test_a_batch_full_of_unknown_attributes_stays_small_stored_and_served(api, db):
    junk = {f"u{k}": 1 for k in range(95)}  # a body just under 1 MB
    records = [
        {"identifiers": {"ext_id": f"r{i}"}, "attributes": {"model": "m", **junk}}
        for i in range(1000)
    ]
    done = applied(api, records)
    assert done["counts"]["created"] == 1000
    first = done["results"][0]["warnings"]
    assert len(first) == 21 and first[-1]["code"] == "more_warnings" and first[-1]["count"] == 75
    with db.read() as conn:
        stored = conn.exec_driver_sql(
            "SELECT sum(length(CAST(payload AS TEXT))) FROM process_payloads"
        ).scalar()
        results = conn.exec_driver_sql(
            "SELECT sum(length(CAST(results AS TEXT))) FROM process_results"
        ).scalar()
    assert stored < 4_000_000 and results < 4_000_000  # the body was 1 MB; once 26 MB were kept
    tracemalloc.start()
    try:
        answers: list[int] = []

        def get() -> None:
            answers.append(len(api.get(f"/v1/processes/{done['id']}").content))

        threads = [threading.Thread(target=get) for _ in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(answers) == 40 and min(answers) == max(answers)
    # 40 answers of a few MB, served from the stored text: no object per warning
    assert peak < 40 * answers[0] * 3, (peak, answers[0])


# -- 7: inputs that once answered 500 ----------------------------------------------------------


def test_dates_at_the_edges_of_time_are_refused_or_answered_never_500(api):
    for date in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"):
        r = api.post(
            "/v3/events/batch",
            json={
                "events": [
                    {"event_name": "x", "identifiers": {"email_id": "a@b.io"}, "event_date": date}
                ]
            },
        )
        assert r.status_code == 400, r.text
        assert "years 1 to 9999" in r.json()["errors"][0]["message"]
    r = api.get("/v3/events", params={"startDate": "0001-01-01", "endDate": "9999-12-31"})
    assert r.status_code == 200 and r.json() == {"events": [], "count": 0}


def test_properties_nested_deeper_than_json_can_write_are_refused(api):
    deep: Any = 1
    for _ in range(260):
        deep = {"a": deep}
    r = api.post(
        "/v3/events/batch",
        json={
            "events": [
                {"event_name": "x", "identifiers": {"email_id": "a@b.io"}, "event_properties": deep}
            ]
        },
    )
    assert r.status_code == 400 and "nested more than" in r.json()["errors"][0]["message"]


def test_idempotency_keys_and_webhook_urls_that_cannot_be_stored_are_refused(api, account):
    one = [{"identifiers": {"ext_id": "k"}, "attributes": {"model": "m"}}]
    r = api.post(UPSERT, json={"records": one}, headers={"Idempotency-Key": "k" * 256})
    assert r.status_code == 400 and "Idempotency-Key" in r.json()["message"]
    assert (
        api.post(UPSERT, json={"records": one}, headers={"Idempotency-Key": "k" * 255}).status_code
        == 202
    )
    r = api.post(
        UPSERT, params={"notify_url": "https://hooks.example.com/a\x00b"}, json={"records": one}
    )
    assert r.status_code == 400 and "control characters" in r.json()["message"]
    r = api.post(
        "/mainbrainer/contacts/batch",
        json={
            "webHookUrl": "https://hooks.example.com/a\x00b",
            "createUpdateContacts": [{"email": "a@b.io"}],
        },
        headers={"Authorization": f"Bearer {account[1]}", "Idempotency-Key": "m" * 300},
    )
    assert r.status_code in (400, 422) and r.json()["status"] == "Error"
    assert api.get("/v3/processes").json()["count"] == 1


# -- 10: the webhook target is part of an idempotent request -----------------------------------


def test_the_same_key_with_another_webhook_target_is_another_request(hook_api):
    from tests.receiver import receiver

    body = {"records": [{"identifiers": {"ext_id": "i"}, "attributes": {"model": "m"}}]}
    with receiver() as a, receiver() as b:
        key = {"Idempotency-Key": "nightly-1"}
        first = hook_api.post(UPSERT, json=body, params={"notify_url": a.url}, headers=key)
        again = hook_api.post(UPSERT, json=body, params={"notify_url": a.url}, headers=key)
        other = hook_api.post(UPSERT, json=body, params={"notify_url": b.url}, headers=key)
        bare = hook_api.post(UPSERT, json=body, headers=key)
    assert first.status_code == 202 and again.status_code == 202
    assert again.json()["processId"] == first.json()["processId"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 409 and bare.status_code == 409


# -- 9: IPv6 addresses that carry an IPv4 one are judged by it ---------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "[2002:7f00:1::]",  # 6to4 of 127.0.0.1
        "[2002:c0a8:101::]",  # 6to4 of 192.168.1.1
        "[2001:0:4136:e378:8000:63bf:80ff:fffe]",  # Teredo, client 127.0.0.1
        "[64:ff9b::a00:1]",  # NAT64 of 10.0.0.1
        "[::ffff:10.1.2.3]",  # IPv4-mapped
        "[::7f00:1]",  # IPv4-compatible
    ],
)
def test_ipv6_forms_of_inside_addresses_are_refused(host):
    with pytest.raises(targets.UnsafeTarget):
        targets.check(f"http://{host}/hook", allow_private=False)


def test_a_public_address_in_6to4_form_is_allowed():
    target = targets.check("http://[2002:808:808::]/hook", allow_private=False)
    assert target.address == "2002:808:808::"


# -- 11: identifiers compare as people read them -----------------------------------------------


def test_ext_ids_and_unique_text_are_one_value_however_the_accents_are_typed(api):
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    first = applied(
        api,
        [
            {
                "identifiers": {"ext_id": composed},
                "attributes": {"model": "1", "vin": "V-" + composed},
            }
        ],
    )
    again = applied(api, [{"identifiers": {"ext_id": decomposed}, "attributes": {"model": "2"}}])
    assert again["results"][0]["status"] == "updated"
    assert again["results"][0]["id"] == first["results"][0]["id"]
    clash = applied(
        api, [{"identifiers": {"ext_id": "other"}, "attributes": {"vin": "V-" + decomposed}}]
    )
    assert clash["results"][0]["errors"][0]["code"] == "unique_violation"
    r = api.post(
        HS_UPSERT,
        json={
            "inputs": [
                {"idProperty": "vin", "id": "V-" + decomposed, "properties": {"year": "2000"}}
            ]
        },
    )
    assert r.status_code == 200 and r.json()["results"][0]["new"] is False


def test_only_email_attributes_compare_without_case(api):
    done = applied(
        api,
        [
            {"identifiers": {"ext_id": "a"}, "attributes": {"vin": "Ab@Shop"}},
            {"identifiers": {"ext_id": "b"}, "attributes": {"vin": "ab@shop"}},  # another value
        ],
    )
    assert [r["status"] for r in done["results"]] == ["created", "created"]
    r = api.post(
        "/v3/events/batch",
        json={
            "events": [
                {"event_name": "x", "identifiers": {"email_id": "Jo@Shop.io"}},
                {"event_name": "y", "identifiers": {"email_id": "jo@shop.io"}},
            ]
        },
    )
    done = wait_process(api, r.json()["processId"])
    contacts = {res["contact"]["id"] for res in done["results"]}
    assert len(contacts) == 1  # one contact: emails are compared without case
