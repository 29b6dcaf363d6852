"""POST /mainbrainer/contacts/batch against a real server, with a real webhook receiver: the
202, the signed report, property conversion, lists, opt-ins, and every error. Both backends."""

from __future__ import annotations

import uuid
from typing import Any

from crmbatch.core.accounts import service as accounts
from crmbatch.core.webhooks.service import verify
from tests.conftest import wait_process
from tests.helpers import contact, contact_count
from tests.receiver import receiver

BATCH = "/mainbrainer/contacts/batch"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def attribute_ids(api: Any) -> dict[str, str]:
    doc = api.get("/v1/schema").json()
    return {k: a["id"] for k, a in doc["object_types"]["contact"]["attributes"].items()}


def post(api: Any, key: str, body: Any, **headers: str) -> Any:
    return api.post(BATCH, json=body, headers={**bearer(key), **headers})


def test_a_batch_is_reported_on_its_signed_webhook(hook_api, db, account):
    key = account[1]
    ids = attribute_ids(hook_api)
    newsletter = hook_api.post("/v1/lists", json={"name": "Newsletter"}).json()
    first = post(
        hook_api,
        key,
        {"createUpdateContacts": [{"email": "jane@example.com", "propertyFields": []}]},
    )
    assert first.status_code == 202
    jane = wait_process(hook_api, int(first.json()["data"]["batchId"]))["results"][0]["id"]

    with receiver() as hooks:
        r = post(
            hook_api,
            key,
            {
                "listId": newsletter["id"],
                "createUpdateContacts": [
                    {  # 0: matched by email, whatever its case; AGE by key, FIRSTNAME by id
                        "email": "Jane@Example.com",
                        "emailOptIn": False,
                        "propertyFields": [
                            {"propertyName": "AGE", "propertyValue": "38"},
                            {"propertyId": ids["FIRSTNAME"], "propertyValue": "Jane"},
                            {"propertyName": "AGEE", "propertyValue": "37"},
                        ],
                    },
                    {  # 1: new, by mobile number
                        "mobileCountryCode": 44,
                        "mobileNumber": 7700900123,
                        "mobileOptIn": True,
                    },
                    {"contactId": 987654321},  # 2: unknown id
                    {"emailOptIn": True},  # 3: nothing names a contact
                ],
                "webHookUrl": hooks.url,
            },
        )
        assert r.status_code == 202, r.text
        accepted = r.json()
        assert accepted["status"] == "Success"
        data = accepted["data"]
        assert data["processed"] == "false" and data["status"] == 0
        assert data["invalidPropertiesList"] == [
            {
                "index": 0,
                "propertyId": None,
                "propertyName": "AGEE",
                "propertyValue": "37",
                "reason": "no contact attribute is named 'AGEE' (did you mean 'AGE'?)",
            }
        ]
        assert data["invalidContactIdList"] == ["987654321"]

        (hook,) = hooks.wait_for(1)
    with db.read() as conn:
        secret = accounts.webhook_secret(conn, account[0].name)
    assert verify(secret, hook.body, hook.headers["x-crmbatch-signature"])
    assert uuid.UUID(hook.headers["x-crmbatch-delivery"])
    assert hook.headers["content-type"] == "application/json"
    report = hook.json()
    mobile = contact(db, account[0].id, "SMS", "+447700900123")["id"]
    assert report["batchId"] == data["batchId"] and report["status"] == "Completed"
    assert report["inserted"] == {"count": 1, "contactIds": [mobile]}
    assert report["updated"] == {"count": 1, "contactIds": [jane]}
    assert report["skipped"] == {
        "count": 2,
        "contactIds": [987654321],
        "reasons": [
            {"index": 2, "contactId": 987654321, "reason": "contact_not_found"},
            {"index": 3, "contactId": None, "reason": "no_identifier"},
        ],
    }
    assert report["invalidPropertiesList"] == data["invalidPropertiesList"]
    assert report["invalidContactIdList"] == ["987654321"]
    assert report["completedAt"]
    # the same report, asked for
    assert hook_api.get(f"{BATCH}/{data['batchId']}", headers=bearer(key)).json() == report

    # one contact store: Brevo sees what MainBrainer wrote
    brevo = hook_api.get("/v3/contacts/jane@example.com").json()
    assert brevo["id"] == jane
    assert brevo["attributes"]["AGE"] == 38 and brevo["attributes"]["FIRSTNAME"] == "Jane"
    assert brevo["emailBlacklisted"] is True and brevo["listIds"] == [newsletter["list_id"]]
    new = hook_api.get(f"/v1/contacts/{mobile}").json()
    assert new["opt_ins"] == {"EMAIL_OPT_IN": None, "SMS_OPT_IN": True}
    assert new["list_ids"] == [newsletter["list_id"]]
    assert hook_api.get(f"/v1/lists/{newsletter['id']}").json()["members"] == 2

    # the delivery shows on the process
    process = hook_api.get(f"/v1/processes/{data['batchId']}").json()
    (delivery,) = process["webhooks"]
    assert delivery["status"] == "delivered" and delivery["attempts"] == 1
    assert delivery["last_status"] == 200 and delivery["id"] == hook.headers["x-crmbatch-delivery"]


def test_properties_are_converted_and_omitted_fields_kept(api, db, account):
    key = account[1]
    api.put(
        "/v1/schema",
        json={
            "object_types": {
                "contact": {
                    "attributes": {
                        "FIRSTNAME": {"type": "text"},
                        "AGE": {"type": "number"},
                        "VIP": {"type": "boolean"},
                        "BIRTHDAY": {"type": "date"},
                        "TAGS": {
                            "type": "multiple_category",
                            "options": [{"key": "a", "label": "A"}, {"key": "b", "label": "B"}],
                        },
                    }
                }
            }
        },
    ).raise_for_status()

    def send(fields: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        item = {"email": "sam@example.com", "propertyFields": fields, **extra}
        r = post(api, key, {"createUpdateContacts": [item]})
        assert r.status_code == 202, r.text
        wait_process(api, int(r.json()["data"]["batchId"]))
        return r.json()["data"]

    def field(name: str, value: str | None) -> dict[str, Any]:
        return {"propertyName": name, "propertyValue": value}

    send(
        [
            field("FIRSTNAME", "Sam"),
            field("AGE", "41.5"),
            field("VIP", "TRUE"),
            field("BIRTHDAY", "1985-02-03"),
            field("TAGS", "a, b"),
        ],
        emailOptIn=True,
    )
    sam = contact(db, account[0].id, "EMAIL", "sam@example.com")
    assert sam["attributes"] == {
        "FIRSTNAME": "Sam",
        "AGE": 41.5,
        "VIP": True,
        "BIRTHDAY": "1985-02-03",
        "TAGS": ["a", "b"],
    }
    # an update that gives one field changes that field only; bad values are listed, not applied
    data = send(
        [field("AGE", "42"), field("VIP", "maybe"), field("BIRTHDAY", "03/02/1985")],
        emailOptIn=None,
    )
    assert [p["propertyName"] for p in data["invalidPropertiesList"]] == ["VIP", "BIRTHDAY"]
    sam = contact(db, account[0].id, "EMAIL", "sam@example.com")
    assert sam["attributes"]["AGE"] == 42 and sam["attributes"]["VIP"] is True
    assert sam["attributes"]["BIRTHDAY"] == "1985-02-03"
    assert sam["opt_ins"]["EMAIL_OPT_IN"] is True  # null left it as it was
    # a null value clears
    send([field("FIRSTNAME", None)])
    assert "FIRSTNAME" not in contact(db, account[0].id, "EMAIL", "sam@example.com")["attributes"]


def error_of(r: Any, status: int) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["status"] == "Error" and body["data"] is None and body["message"]
    return str(body["message"])


def test_bad_batches_are_refused_in_mainbrainers_words_and_change_nothing(server, api, db, account):
    key = account[1]
    one = {"createUpdateContacts": [{"email": "x@example.com"}]}
    with server.client() as anonymous:
        assert "authentication" in error_of(anonymous.post(BATCH, json=one), 401)
        error_of(anonymous.post(BATCH, json=one, headers=bearer("nope")), 401)
    error_of(
        api.post(BATCH, content=b"email=x", headers={**bearer(key), "Content-Type": "text/plain"}),
        406,
    )
    error_of(post(api, key, one, Accept="text/html"), 406)
    error_of(
        api.post(BATCH, content=b'{"createUpdateContacts": [', headers={**bearer(key), **JSON}),
        400,
    )
    assert "1000" in error_of(post(api, key, {"createUpdateContacts": []}), 400)
    many = {"createUpdateContacts": [{"email": f"{i}@example.com"} for i in range(1001)]}
    error_of(post(api, key, many), 400)
    unknown_list = {**one, "listId": str(uuid.uuid4())}
    assert "no list" in error_of(post(api, key, unknown_list), 422)
    own_list = {"createUpdateContacts": [{"email": "x@example.com", "listId": "not-a-uuid"}]}
    error_of(post(api, key, own_list), 422)
    error_of(post(api, key, {"createUpdateContacts": [{"contactId": "12"}]}), 422)
    error_of(post(api, key, {"createUpdateContacts": [{"mobileNumber": 7.5}]}), 422)
    error_of(post(api, key, {"createUpdateContacts": [{"email": 3}]}), 422)
    error_of(post(api, key, {"createUpdateContacts": "x"}), 422)
    # webhook targets inside the network are refused unless the operator allows them
    for url in ("http://127.0.0.1:9/h", "http://10.1.2.3/h", "ftp://example.com/h", "nope"):
        assert "webHookUrl" in error_of(post(api, key, {**one, "webHookUrl": url}), 422)
    assert contact_count(db, account[0].id) == 0
    assert api.get("/v3/processes", params={"limit": 50, "offset": 0}).json()["count"] == 0
    # the same Idempotency-Key with another body
    ok = post(api, key, one, **{"Idempotency-Key": "k1"})
    assert ok.status_code == 202
    assert post(api, key, one, **{"Idempotency-Key": "k1"}).json() == ok.json()
    other = {"createUpdateContacts": [{"email": "y@example.com"}]}
    error_of(post(api, key, other, **{"Idempotency-Key": "k1"}), 409)
    # a report of a batch that does not exist, or is not this account's
    error_of(api.get(f"{BATCH}/99999999", headers=bearer(key)), 404)


JSON = {"Content-Type": "application/json"}


def test_another_accounts_key_sees_no_batch(api_for, db, account):
    from tests.conftest import make_account

    _, other_key = make_account(db)
    mine = api_for(account[1])
    r = post(mine, account[1], {"createUpdateContacts": [{"email": "z@example.com"}]})
    batch_id = r.json()["data"]["batchId"]
    theirs = api_for(other_key)
    error_of(theirs.get(f"{BATCH}/{batch_id}", headers=bearer(other_key)), 404)


def test_an_unknown_contact_id_is_skipped_in_the_report_and_in_the_process_alike(api, account):
    key = account[1]
    r = post(api, key, {"createUpdateContacts": [{"contactId": 987654}, {"email": "x@y.io"}]})
    assert r.status_code == 202
    batch = int(r.json()["data"]["batchId"])
    process = wait_process(api, batch)
    report = api.get(f"{BATCH}/{batch}", headers=bearer(key)).json()
    assert report["skipped"]["count"] == process["counts"]["skipped"] == 1
    assert process["counts"]["failed"] == 0
    assert process["results"][0]["errors"][0]["code"] == "contact_not_found"
    assert report["invalidContactIdList"] == ["987654"]
