"""Hostile bodies: each gets a clear 4xx in Brevo's format, nothing is stored, and the server
keeps answering other clients meanwhile. (crmbatch accepts no compressed bodies, so there is no
gzip bomb to defuse: a Content-Encoding is not decoded, and the body is not JSON.)"""

from __future__ import annotations

import json
import threading

import pytest

UPSERT = "/v3/objects/vehicle/batch/upsert"
JSON = {"content-type": "application/json"}


def records_body(attributes: bytes) -> bytes:
    return b'{"records": [{"attributes": ' + attributes + b"}]}"


@pytest.mark.parametrize(
    ("name", "body", "status", "text"),
    [
        (
            "deeply nested",
            records_body(b'{"model": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
            400,
            "not valid JSON",
        ),
        (
            "huge integer",
            records_body(b'{"model": "m", "year": 1' + b"0" * 400 + b"}"),
            400,
            "records[0].attributes.year: number out of range",
        ),
        (
            "huge float",
            records_body(b'{"model": "m", "year": 1e999}'),
            400,
            "records[0].attributes.year: expected a finite number",
        ),
        ("NaN", records_body(b'{"model": "m", "year": NaN}'), 400, "records[0].attributes.year"),
        (
            "Infinity",
            records_body(b'{"model": "m", "year": -Infinity}'),
            400,
            "records[0].attributes.year",
        ),
        ("invalid UTF-8", records_body(b'{"model": "\xff\xfe"}'), 400, "not valid JSON"),
        (
            "1 MB in one attribute",
            json.dumps({"records": [{"attributes": {"model": "x" * 1_000_000}}]}).encode(),
            400,
            "records[0].attributes.model: text longer than 65535 characters",
        ),
        ("an array, not an object", b"[1, 2, 3]", 400, "input should be an object"),
        ("a bare string", b'"records"', 400, "input should be an object"),
        ("truncated", b'{"records": [{"attributes": {"model": "m"', 400, "not valid JSON"),
    ],
)
def test_hostile_bodies_get_a_clear_400_and_store_nothing(api, name, body, status, text):
    r = api.post(UPSERT, content=body, headers=JSON)
    assert r.status_code == status, (name, r.text)
    assert r.json()["code"] == "invalid_parameter"
    assert text in r.json()["message"], r.json()
    assert api.get("/v3/processes").json()["count"] == 0


def test_duplicate_keys_take_the_last_value_as_json_parse_does(api):
    from tests.conftest import wait_process

    r = api.post(UPSERT, content=records_body(b'{"model": "first", "model": "last"}'), headers=JSON)
    assert r.status_code == 202
    wait_process(api, r.json()["processId"])
    page = api.get("/v3/objects/vehicle/records", params={"limit": 1, "page_num": 1}).json()
    assert page["records"][0]["attributes"] == {"model": "last"}


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_a_body_that_is_not_sent_as_json_gets_415(api, content_type):
    headers = {} if content_type is None else {"content-type": content_type}
    r = api.post(UPSERT, content=b'{"records": [{"attributes": {"model": "m"}}]}', headers=headers)
    assert r.status_code == 415, r.text
    assert "Content-Type: application/json" in r.json()["message"]
    assert api.get("/v3/processes").json()["count"] == 0
    ok = api.post(
        UPSERT,
        content=b'{"records": [{"attributes": {"model": "m"}}]}',
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert ok.status_code == 202


def test_compressed_bodies_are_not_inflated(api):
    import gzip

    bomb = gzip.compress(b"{" + b" " * 50_000_000 + b"}")
    r = api.post(UPSERT, content=bomb, headers={**JSON, "content-encoding": "gzip"})
    assert r.status_code == 400 and "not valid JSON" in r.json()["message"]


def test_the_server_answers_others_while_a_client_trickles_a_body(server, api):
    """The upload pauses mid-body until another client has been answered, ten times over: if the
    slow upload held the server up, those answers would never come (no timing involved)."""
    rounds = 10
    served = threading.Semaphore(0)
    outcome: dict[str, object] = {}

    def body():
        yield b'{"records": ['
        for _ in range(rounds):
            if not served.acquire(timeout=30):
                raise AssertionError("nobody else was answered while this body was uploading")
            yield b'{"attributes": {"model": "slow"}},'
        yield b'{"attributes": {"model": "last"}}]}'

    def upload():
        try:
            with server.client(api.headers["api-key"]) as slow:
                outcome["status"] = slow.post(UPSERT, content=body(), headers=JSON).status_code
        except Exception as e:  # reported below
            outcome["error"] = e

    thread = threading.Thread(target=upload)
    thread.start()
    with server.client() as other:
        for _ in range(rounds):
            assert other.get("/healthz", timeout=10).status_code == 200
            served.release()
    thread.join(60)
    assert outcome.get("status") == 202, outcome
