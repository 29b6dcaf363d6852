"""The console over plain HTTP, on both backends: every page of one account's session shows
nothing of another account's, forms that change something need the session's CSRF token, a
forged or expired session is sent to the login form, and the landing page and API docs name no
other host."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from crmbatch.console import session
from crmbatch.core.accounts import service as accounts
from crmbatch.core.errors import Unauthorized
from tests.conftest import VEHICLE_SCHEMA, LiveServer, hook_settings, make_account, wait_process
from tests.receiver import receiver


@contextmanager
def signed_in(server: LiveServer, key: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        r = client.post("/console/login", data={"key": key, "next": "/console/"})
        assert r.status_code == 303 and r.headers["location"] == "/console/", r.text
        yield client


@pytest.fixture
def hooked(db, database_url):
    with receiver([500] * 1000) as hooks, LiveServer(hook_settings(database_url), db) as live:
        yield live, hooks


def first_account_data(server: LiveServer, key: str, hook_url: str) -> dict:
    """A process with a failed record, a record with history and a webhook delivery."""
    with server.client(key) as api:
        r = api.post(
            "/v3/objects/vehicle/batch/upsert",
            params={"notify_url": hook_url},
            json={
                "records": [
                    {"identifiers": {"ext_id": "first-secret"}, "attributes": {"vin": "FIRST-VIN"}},
                    {"identifiers": {"id": 424242}, "attributes": {"vin": "X"}},
                ]
            },
        )
        done = wait_process(api, r.json()["processId"])
        deadline = time.monotonic() + 20
        while not api.get(f"/v1/processes/{done['id']}").json()["webhooks"][0]["attempts"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    return {"process": done["id"], "record": done["results"][0]["id"]}


def test_a_session_sees_nothing_of_another_account(hooked, db, account):
    server, hooks = hooked
    theirs = first_account_data(server, account[1], hooks.url)
    _, other_key = make_account(db, schema=VEHICLE_SCHEMA)
    with signed_in(server, other_key) as other, signed_in(server, account[1]) as owner:
        with db.read() as conn:
            (delivery,) = [d["number"] for d in _deliveries(conn, account[0].id)]
        pages = [
            "/console/",
            "/console/processes",
            "/console/processes?failures=1",
            f"/console/processes/{theirs['process']}",
            f"/console/processes/{theirs['process']}/failures.csv",
            f"/console/processes/{theirs['process']}/failures.jsonl",
            "/console/records?type=vehicle",
            "/console/records?type=vehicle&ext_id=first-secret",
            f"/console/records?type=vehicle&id={theirs['record']}",
            "/console/records?type=vehicle&attr=vin&value=FIRST-VIN",
            f"/console/records/{theirs['record']}",
            "/console/webhooks",
            "/console/schema",
        ]
        for path in pages:
            seen = owner.get(path)
            assert seen.status_code == 200, path  # the owner sees them all
            r = other.get(path)
            assert r.status_code in (200, 404), (path, r.status_code)
            shown = re.sub(r"<form.*?</form>", "", r.text, flags=re.S)  # forms echo the query
            for secret in ("first-secret", "FIRST-VIN", "424242", hooks.url):
                assert secret not in shown, (path, secret)
        assert any("first-secret" in owner.get(p).text for p in pages)
        r = other.post(
            f"/console/webhooks/{delivery}/retry",
            data={"csrf": _csrf(other)},
        )
        assert r.status_code == 404
    with db.read() as conn:
        assert [d["status"] for d in _deliveries(conn, account[0].id)] == ["pending"]


def _deliveries(conn, account_id):
    from crmbatch.core.webhooks import service as webhooks

    return webhooks.of_account(conn, account_id)


def _csrf(client: httpx.Client) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get("/console/").text)
    assert found, "the page carries no CSRF token"
    return found.group(1)


def test_changes_need_the_sessions_csrf_token(server, account):
    with signed_in(server, account[1]) as client:
        for form in ({}, {"csrf": "0" * 32}):
            r = client.post("/console/logout", data=form)
            assert r.status_code == 401 and "reload the page" in r.text
        assert client.get("/console/").status_code == 200  # still signed in
        r = client.post("/console/logout", data={"csrf": _csrf(client)})
        assert r.status_code == 303
        assert client.get("/console/").status_code == 303  # signed out


def test_a_forged_expired_or_revoked_session_goes_to_the_login_form(server, db, account):
    with signed_in(server, account[1]) as client:
        cookie = client.cookies[session.COOKIE]
        payload, mac = cookie.split(".")
        forged = f"{payload}.{'0' * len(mac)}"
        for value in (forged, "garbage", payload):
            client.cookies.clear()
            client.cookies.set(session.COOKIE, value, path="/console")
            r = client.get("/console/processes")
            assert r.status_code == 303 and r.headers["location"].startswith("/console/login")
    with db.read() as conn:
        _, value = session.issue(conn, account[1], now=time.time() - session.LIFETIME - 1)
        with pytest.raises(Unauthorized, match="expired"):
            session.load(conn, value)
        assert session.load(conn, session.issue(conn, account[1])[1]).account == account[0]
    with db.write() as conn:
        accounts.revoke_key(conn, account[1])
    with db.read() as conn, pytest.raises(Unauthorized, match="revoked"):
        session.load(conn, value)


def test_a_wrong_key_is_refused_on_the_form(server):
    with httpx.Client(base_url=server.base_url) as client:
        r = client.post("/console/login", data={"key": "crm_nothing", "next": "https://evil/"})
        assert r.status_code == 401 and "Key not found" in r.text
        assert session.COOKIE not in r.headers.get("set-cookie", "")


def test_the_landing_page_and_docs_name_no_other_host(server):
    with httpx.Client(base_url=server.base_url) as client:
        for path in ("/", "/docs", "/redoc", "/console/login"):
            r = client.get(path)
            assert r.status_code == 200, path
            assert re.findall(r"https?://[^\s\"'<>]+", r.text) == [], path
        for asset in ("/static/docs/swagger-ui-bundle.js", "/static/console/console.css"):
            assert client.get(asset).status_code == 200, asset
        assert "'self'" in client.get("/docs").headers["content-security-policy"]


def test_processes_filter_by_warnings_and_results_by_code(server, api, account):
    def upsert(records):
        r = api.post("/v3/objects/vehicle/batch/upsert", json={"records": records})
        return wait_process(api, r.json()["processId"])["id"]

    warned = upsert([{"identifiers": {"ext_id": "w"}, "attributes": {"vin": "W", "yeer": 1}}])
    clean = upsert([{"identifiers": {"ext_id": "c"}, "attributes": {"vin": "C"}}])
    with signed_in(server, account[1]) as client:
        listed = client.get("/console/processes", params={"warnings": "1"}).text
        assert f"#{warned}<" in listed and f"#{clean}<" not in listed
        both = client.get("/console/processes").text
        assert f"#{warned}<" in both and f"#{clean}<" in both
        page = client.get(f"/console/processes/{warned}", params={"code": "unknown_attribute"})
        assert "yeer" in page.text and "did you mean <code>year</code>" in page.text
        page = client.get(f"/console/processes/{warned}", params={"status": "failed"})
        assert "No results match" in page.text


def test_a_contact_shows_its_events_and_lists(server, api, account):
    folder = api.post("/v3/contacts/folders", json={"name": "Customers"}).json()["id"]
    made = api.post("/v3/contacts/lists", json={"name": "VIP", "folderId": folder})
    assert made.status_code == 201, made.text
    list_id = made.json()["id"]
    r = api.post("/v3/contacts", json={"email": "jane@example.com", "listIds": [list_id]})
    assert r.status_code == 201, r.text
    contact_id = r.json()["id"]
    r = api.post(
        "/v3/events",
        json={"event_name": "test_drive", "identifiers": {"email_id": "jane@example.com"}},
    )
    assert r.status_code == 204, r.text
    with signed_in(server, account[1]) as client:
        deadline = time.monotonic() + 20
        while "test_drive" not in (page := client.get(f"/console/records/{contact_id}").text):
            assert time.monotonic() < deadline, "the event did not show"
            time.sleep(0.05)
        assert "jane@example.com" in page and "VIP" in page
        members = client.get("/console/records", params={"type": "contact", "list": list_id})
        assert "jane@example.com" in members.text


def test_records_are_found_by_a_number_a_prefix_or_ext_id(server, api, account):
    cars = [
        {"identifiers": {"ext_id": f"car-{i}"}, "attributes": {"vin": f"V{i}", "year": 2000 + i}}
        for i in range(3)
    ]
    r = api.post("/v3/objects/vehicle/batch/upsert", json={"records": cars})
    wait_process(api, r.json()["processId"])

    def found(**params):
        page = signed.get("/console/records", params={"type": "vehicle", **params})
        assert page.status_code == 200, page.text
        return sorted(set(re.findall(r">(car-\d)<", page.text)))

    with signed_in(server, account[1]) as signed:
        assert found() == ["car-0", "car-1", "car-2"]
        assert found(attr="year", value="2001") == ["car-1"]  # typed as text, compared as a number
        assert found(attr="vin", value="V", match="prefix") == ["car-0", "car-1", "car-2"]
        assert found(attr="vin", value="V2", match="prefix") == ["car-2"]
        assert found(ext_id="car-0") == ["car-0"]
        assert found(ext_id="nope") == []
        bad = signed.get(
            "/console/records", params={"type": "vehicle", "attr": "year", "value": "x"}
        )
        assert bad.status_code == 400 and "expected a number" in bad.text
