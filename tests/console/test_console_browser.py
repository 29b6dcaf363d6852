"""The console in a real browser (Debian's Chromium through Playwright), against a real server on
both backends: sign in, find a record by attribute and read its history, read why a record of a
process failed and download the failures, retry a webhook delivery, and see nothing of another
account."""

from __future__ import annotations

import csv
import time

from crmbatch.core.accounts import service as accounts
from tests.conftest import VEHICLE_SCHEMA, LiveServer, hook_settings, make_account, wait_process
from tests.console.conftest import sign_in
from tests.receiver import receiver

UPSERT = "/v3/objects/vehicle/batch/upsert"


def upsert(api, records, **params):
    r = api.post(UPSERT, json={"records": records}, params=params)
    assert r.status_code == 202, r.text
    return wait_process(api, r.json()["processId"])


def test_a_record_found_by_attribute_shows_its_history(page, server, api, account):
    first = upsert(api, [{"identifiers": {"ext_id": "car-1"}, "attributes": {"vin": "VIN-1"}}])
    upsert(api, [{"identifiers": {"ext_id": "car-2"}, "attributes": {"vin": "OTHER"}}])
    second = upsert(api, [{"identifiers": {"ext_id": "car-1"}, "attributes": {"year": 2021}}])
    sign_in(page, server, account[1])
    page.click("header >> text=Records")
    page.click("nav.types >> text=Vehicle")
    page.select_option("select[name=attr]", "vin")
    page.select_option("select[name=match]", "prefix")
    page.fill("input[name=value]", "VIN")
    page.click("button:has-text('Find')")
    rows = page.locator("tbody tr")
    assert rows.count() == 1 and "car-1" in rows.first.inner_text()  # car-2's vin is OTHER
    rows.first.locator("a").first.click()
    assert page.locator("[data-attribute=year]").inner_text() == "2021"
    history = page.locator("ol.timeline > li")
    assert history.count() == 2
    newest, oldest = history.nth(0).inner_text(), history.nth(1).inner_text()
    assert f"process #{second['id']}" in newest and "year: — → 2021" in newest
    assert f"process #{first['id']}" in oldest and "vin: — → VIN-1" in oldest
    history.nth(0).locator("a").click()  # the process that made the change
    assert f"Process #{second['id']}" in page.locator("h1").inner_text()


def test_a_failed_record_says_why_and_the_failures_download(page, server, api, account):
    done = upsert(
        api,
        [
            {"identifiers": {"ext_id": "ok"}, "attributes": {"vin": "V1"}},
            {"identifiers": {"id": 987654}, "attributes": {"vin": "V2"}},
        ],
    )
    sign_in(page, server, account[1], "/console/processes")
    page.check("input[name=failures]")
    page.click("button:has-text('Filter')")
    page.click(f"a:has-text('#{done['id']}')")
    page.select_option("select[name=status]", "failed")
    page.click("button:has-text('Filter')")
    rows = page.locator("tbody tr")
    assert rows.count() == 1
    text = rows.first.inner_text()
    assert "record_not_found" in text and "987654" in text
    with page.expect_download() as download:
        page.click("a:has-text('CSV')")
    with open(download.value.path()) as f:
        lines = list(csv.DictReader(f))
    assert [(r["index"], r["code"], r["id"]) for r in lines] == [
        ("1", "record_not_found", "987654")
    ]


def test_a_failed_webhook_delivery_is_retried_from_the_console(page, db, database_url, account):
    settings = hook_settings(database_url, webhook_retry_for=0.3)
    with (
        receiver([500] * 1000) as hooks,
        LiveServer(settings, db) as server,
        server.client(account[1]) as api,
    ):
        done = upsert(
            api,
            [{"identifiers": {"ext_id": "c"}, "attributes": {"vin": "V"}}],
            notify_url=hooks.url,
        )
        deadline = time.monotonic() + 20
        while api.get(f"/v1/processes/{done['id']}").json()["webhooks"][0]["status"] != "failed":
            assert time.monotonic() < deadline, "the delivery did not give up"
            time.sleep(0.05)
        with hooks.lock:
            hooks.script.clear()  # the receiver is fixed: it answers 200 from now on
        sign_in(page, server, account[1], "/console/webhooks")
        row = page.locator("tbody tr").first
        assert "failed" in row.inner_text() and "500" in row.inner_text()
        tried = len(hooks.requests)
        row.locator("button:has-text('Retry now')").click()
        assert "will be sent again now" in page.locator("[role=status]").inner_text()
        hooks.wait_for(tried + 1)
        deadline = time.monotonic() + 20
        while api.get(f"/v1/processes/{done['id']}").json()["webhooks"][0]["status"] != "delivered":
            assert time.monotonic() < deadline, "the retried delivery was not delivered"
            time.sleep(0.05)
        assert len(hooks.successes()) == 1
        page.reload()
        assert "delivered" in page.locator("tbody tr").first.inner_text()


def test_the_session_keeps_the_key_out_and_sees_one_account(page, server, api, account, db):
    mine = upsert(api, [{"identifiers": {"ext_id": "secret-car"}, "attributes": {"vin": "S1"}}])
    _, other_key = make_account(db, schema=VEHICLE_SCHEMA)
    sign_in(page, server, other_key)
    (cookie,) = page.context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert other_key not in cookie["value"] and other_key[4:] not in cookie["value"]
    page.goto(server.base_url + "/console/records?type=vehicle")
    assert "secret-car" not in page.content() and "No records match" in page.content()
    page.goto(server.base_url + f"/console/processes/{mine['id']}")
    assert "not found" in page.locator("[role=alert]").inner_text()
    record_id = mine["results"][0]["id"]
    page.goto(server.base_url + f"/console/records/{record_id}")
    assert "secret-car" not in page.content()
    with db.write() as conn:  # revoking the key ends its sessions
        accounts.revoke_key(conn, other_key)
    page.goto(server.base_url + "/console/")
    assert "/console/login" in page.url and "revoked" in page.content()


def test_the_docs_render_with_nothing_from_another_host(page, server):
    asked: list[str] = []

    def only_here(route):
        asked.append(route.request.url)
        if route.request.url.startswith(server.base_url):
            route.continue_()
        else:
            route.abort()

    page.route("**/*", only_here)
    page.goto(server.base_url + "/")
    for link in ("Console", "API docs", "Health"):
        assert page.locator(f"a:has-text('{link}')").count() >= 1
    page.click("a:has-text('API docs')")
    page.wait_for_selector("text=crmbatch", timeout=15_000)
    page.wait_for_selector(".opblock", timeout=15_000)  # Swagger UI drew the operations
    page.goto(server.base_url + "/redoc")
    page.wait_for_selector("h1:has-text('crmbatch')", timeout=15_000)
    assert [u for u in asked if not u.startswith(server.base_url)] == []
