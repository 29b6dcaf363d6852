"""Brevo's asynchronous contacts import (``POST /v3/contacts/import``) through the official
brevo-python 5.1.0 SDK against a real server, on both backends: a process of the engine with a
result per row, Brevo's process view, a signed webhook to ``notifyUrl``; bad rows named and
passed over, bad requests refused with nothing written."""

from __future__ import annotations

import pytest
from brevo.contacts import ImportContactsRequestJsonBodyItem, ImportContactsRequestNewList
from brevo.core.api_error import ApiError

from crmbatch.core.webhooks.service import verify
from crmbatch.db.tables import processes, records
from tests.brevo.test_contacts import attrs, count, sdk
from tests.conftest import wait_process
from tests.receiver import receiver
from tests.test_webhooks import secret_of

CSV = "\n".join(
    [
        "EMAIL;FIRSTNAME;AGE;SMS;EXT_ID;FRISTNAME",
        "ann@example.com;Ann;31;+33612345678;crm-1;x",
        "bob@example.com;Bob;not a number;;crm-2;",
        "not-an-email;Cid;40;;;",
        "dee@example.com;Dee;41;;crm-4;;surplus",
        "",
        '"eve@example.com";"Eve; the second";42;;crm-5;',
    ]
)


@pytest.fixture
def client(hook_server, account):
    return sdk(hook_server, account[1])


def test_a_csv_import_applies_the_good_rows_and_names_the_bad(client, hook_api, db, account):
    vip = hook_api.post("/v1/lists", json={"name": "VIP"}).json()
    with receiver() as hooks:
        started = client.contacts.import_contacts(
            file_body=CSV, list_ids=[vip["list_id"]], notify_url=hooks.url
        )
        done = wait_process(hook_api, started.process_id)
        (hook,) = hooks.wait_for(1)
    assert done["kind"] == "contacts_import" and done["status"] == "completed"
    counts = done["counts"]
    assert (counts["received"], counts["created"], counts["failed"]) == (5, 2, 3)
    by_row = {r["index"]: r for r in done["results"]}
    assert by_row[0]["status"] == "created" and by_row[4]["status"] == "created"
    assert by_row[1]["errors"][0]["field"] == "attributes.AGE"
    assert 'expected a number, got "not a number"' in by_row[1]["errors"][0]["message"]
    assert by_row[2]["errors"][0]["field"] == "identifiers.EMAIL"
    assert by_row[3]["errors"][0]["code"] == "malformed_row"
    assert "line 5 has 7 cells" in by_row[3]["errors"][0]["message"]
    (unknown,) = [w for w in by_row[0]["warnings"] if w["code"] == "unknown_attribute"]
    assert unknown["field"] == "FRISTNAME" and unknown["suggestion"] == "FIRSTNAME"

    ann = client.contacts.get_contact_info(identifier="ann@example.com")
    assert attrs(ann) == {
        "FIRSTNAME": "Ann",
        "AGE": 31,
        "SMS": "+33612345678",
        "EXT_ID": "crm-1",
    }
    assert ann.list_ids == [vip["list_id"]]
    eve = attrs(client.contacts.get_contact_info(identifier="crm-5", identifier_type="ext_id"))
    assert eve["FIRSTNAME"] == "Eve; the second" and eve["AGE"] == 42
    assert count(db, records) == 2  # only the good rows made contacts
    view = client.process.get_process(process_id=started.process_id)
    assert view.name == "IMPORTUSER" and view.status == "completed"
    assert verify(secret_of(db, account), hook.body, hook.headers["x-crmbatch-signature"])
    assert hook.json()["id"] == started.process_id and hook.json()["counts"]["created"] == 2


def test_an_import_in_order_with_other_contact_writes(client, hook_api):
    client.contacts.create_contact(email="ann@example.com", attributes={"AGE": 20, "LASTNAME": "A"})
    first = client.contacts.import_contacts(
        json_body=[
            ImportContactsRequestJsonBodyItem(
                email="ann@example.com", attributes={"AGE": 21, "LASTNAME": ""}
            ),
            ImportContactsRequestJsonBodyItem(email="new@example.com", attributes={"AGE": 5}),
        ],
        new_list=ImportContactsRequestNewList(list_name="Imported"),
    )
    # does not update existing contacts; empty values clear (emptyContactsAttributes)
    second = client.contacts.import_contacts(
        file_body="EMAIL,AGE,LASTNAME\nann@example.com,99,\nlate@example.com,7,",
        new_list=ImportContactsRequestNewList(list_name="Second"),
        update_existing_contacts=False,
    )
    wait_process(hook_api, first.process_id)
    done = wait_process(hook_api, second.process_id)
    assert [r["status"] for r in done["results"]] == ["skipped", "created"]
    assert done["results"][0]["errors"][0]["code"] == "contact_exists"
    ann = attrs(client.contacts.get_contact_info(identifier="ann@example.com"))
    assert ann["AGE"] == 21 and ann["LASTNAME"] == "A"  # "" is left alone by default
    clearing = client.contacts.import_contacts(
        file_body="EMAIL;LASTNAME\nann@example.com;",
        list_ids=[1],
        empty_contacts_attributes=True,
    )
    wait_process(hook_api, clearing.process_id)
    assert "LASTNAME" not in attrs(client.contacts.get_contact_info(identifier="ann@example.com"))
    lists = {x.name: x for x in client.contacts.get_lists().lists}
    assert lists["Imported"].total_subscribers == 2 and lists["Second"].total_subscribers == 1


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"fileBody": "EMAIL\na@example.com", "listIds": [999]}, "list 999 does not exist"),
        ({"fileBody": "EMAIL\na@example.com"}, "give listIds, or newList.listName"),
        ({"fileBody": "FIRSTNAME;AGE\nAnn;3", "listIds": [1]}, "no column names the contacts"),
        ({"fileBody": 'EMAIL\n"a@example.com', "listIds": [1]}, "line"),
        ({"fileBody": "", "listIds": [1]}, "first line must name the columns"),
        ({"fileBody": "EMAIL\n", "listIds": [1]}, "the import has no rows"),
        ({"fileUrl": "https://example.com/c.csv", "listIds": [1]}, "does not fetch files"),
        ({"listIds": [1]}, "give the rows as fileBody"),
        ({"jsonBody": [{"email": "a@example.com", "age": 3}], "listIds": [1]}, "unknown field"),
        ({"fileBody": "EMAIL\na@x.io", "newList": {"listName": "n", "folderId": 77}}, "77"),
    ],
)
def test_bad_imports_are_refused_and_store_nothing(hook_api, db, body, said):
    hook_api.post("/v1/lists", json={"name": "Default"}).raise_for_status()
    before = count(db, processes)
    r = hook_api.post("/v3/contacts/import", json=body)
    assert r.status_code == 400, r.text
    assert said in r.json()["message"] and r.json()["code"] in (
        "invalid_parameter",
        "document_not_found",
    )
    assert count(db, processes) == before
    assert hook_api.get("/v3/contacts/lists").json()["count"] == 1


def test_an_import_over_10_mb_is_413(hook_api):
    rows = "\n".join(f"user{i}@example.com" for i in range(600_000))
    r = hook_api.post("/v3/contacts/import", json={"fileBody": "EMAIL\n" + rows, "listIds": [1]})
    assert r.status_code == 413 and r.json()["code"] == "out_of_range"


def test_a_dry_run_import_writes_nothing(client, hook_api, db):
    hook_api.post("/v1/lists", json={"name": "Default"}).raise_for_status()
    client.contacts.create_contact(email="ann@example.com")
    before = (count(db, records), count(db, processes))
    r = hook_api.post(
        "/v3/contacts/import",
        params={"dry_run": "true"},
        json={"fileBody": "EMAIL;AGE\nann@example.com;3\nnew@example.com;x", "listIds": [1]},
    )
    assert r.status_code == 200, r.text
    assert [x["status"] for x in r.json()["results"]] == ["updated", "failed"]
    assert (count(db, records), count(db, processes)) == before
    with pytest.raises(ApiError):
        client.contacts.get_contact_info(identifier="new@example.com")


def test_a_large_import_is_applied_in_parts_and_answered_as_one(client, hook_api, db, account):
    vip = hook_api.post("/v1/lists", json={"name": "VIP"}).json()
    rows = [f"user{i}@example.com;{i}" for i in range(2500)]
    rows[1700] = "user1700@example.com;not a number"
    rows[2400] = "user10@example.com;77"  # a later part updates what an earlier one created
    with receiver() as hooks:
        started = client.contacts.import_contacts(
            file_body="EMAIL;AGE\n" + "\n".join(rows),
            list_ids=[vip["list_id"]],
            notify_url=hooks.url,
        )
        done = wait_process(hook_api, started.process_id, timeout=60)
        (hook,) = hooks.wait_for(1)
    assert done["status"] == "completed" and done["parts"] == {"total": 3, "started": 3, "done": 3}
    assert [r["index"] for r in done["results"]] == list(range(2500))
    counts = done["counts"]
    assert (counts["received"], counts["created"], counts["updated"], counts["failed"]) == (
        2500,
        2498,
        1,
        1,
    )
    assert done["results"][1700]["errors"][0]["field"] == "attributes.AGE"
    assert done["results"][2400]["status"] == "updated"
    assert attrs(client.contacts.get_contact_info(identifier="user10@example.com"))["AGE"] == 77
    assert client.contacts.get_list(list_id=vip["list_id"]).total_subscribers == 2498
    # one process to the user: the parts are not listed, and the webhook is the whole's
    assert [p.id for p in client.process.get_processes().processes] == [started.process_id]
    assert hook.json()["id"] == started.process_id and hook.json()["counts"]["created"] == 2498
    assert verify(secret_of(db, account), hook.body, hook.headers["x-crmbatch-signature"])


def test_a_part_queued_with_its_rows_unchecked_still_applies(client, hook_api, db, account):
    """Parts accepted before the rows were checked at accept stored them as given; one still
    queued at an upgrade is checked when it applies, its bad rows failed one by one."""
    from crmbatch.core.contacts import writes
    from crmbatch.core.processes import service as processes

    rows = [
        {"identity": {"EMAIL": "old@example.com"}, "attributes": {"AGE": 30}},
        {"identity": {"EMAIL": "older@example.com"}, "attributes": {"AGE": "thirty"}},
        {"identity": {"EMAIL": "not-an-email"}, "attributes": {}},
    ]
    stored = [
        {"list_ids": [], "unlink_list_ids": [], "mode": "upsert", "reject": None, "warnings": []}
        | row
        for row in rows
    ]
    part = processes.Submission(
        writes.KIND_IMPORT_PART, "contact", {"start": 0, "rows": stored}, len(stored)
    )
    final = processes.Submission(writes.KIND_IMPORT, "contact", {"object_type": "contact"}, 3)
    with db.write() as conn:
        accepted = processes.accept_parts(conn, account[0].id, [part], final, dialect="brevo")
    done = wait_process(hook_api, accepted.process_id)
    assert [r["status"] for r in done["results"]] == ["created", "failed", "failed"]
    assert done["results"][1]["errors"][0]["field"] == "attributes.AGE"
    assert done["results"][2]["errors"][0]["field"] == "identifiers.EMAIL"
    assert attrs(client.contacts.get_contact_info(identifier="old@example.com"))["AGE"] == 30
