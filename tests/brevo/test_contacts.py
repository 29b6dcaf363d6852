"""Brevo's contacts API through the official brevo-python 5.1.0 SDK, unchanged, against a real
server on both backends: contacts created, updated, listed, batch-updated and deleted; every
write a process of the engine; all or nothing for the synchronous writes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from brevo.contacts import UpdateBatchContactsRequestContactsItem as BatchItem
from brevo.core.api_error import ApiError

from brevo import Brevo
from crmbatch.db.tables import processes, records


def sdk(server, key):
    return Brevo(api_key=key, base_url=f"{server.base_url}/v3", max_retries=0, timeout=30)


def attrs(contact) -> dict:
    """A contact's attributes (the SDK keeps them as a model's extras)."""
    value = contact.attributes
    return value if isinstance(value, dict) else value.model_dump()


def count(db, table, *where):
    with db.read() as conn:
        query = sa.select(sa.func.count()).select_from(table)
        return conn.execute(query.where(*where) if where else query).scalar_one()


def error_of(e: pytest.ExceptionInfo) -> tuple[int, dict]:
    return e.value.status_code, e.value.body


@pytest.fixture
def client(server, account):
    return sdk(server, account[1])


@pytest.fixture
def newsletter(api):
    return api.post("/v1/lists", json={"name": "Newsletter"}).json()


def test_a_contact_is_created_read_updated_and_deleted(client, api, db, newsletter):
    made = client.contacts.create_contact(
        email="Jane@Example.com",
        ext_id="crm-1",
        attributes={"FIRSTNAME": "Jane", "age": 37, "SMS": "+33 6 12 34 56 78"},
        list_ids=[newsletter["list_id"]],
    )
    jane = client.contacts.get_contact_info(identifier="jane@example.com")
    assert jane.id == made.id and jane.email == "jane@example.com"
    assert attrs(jane)["FIRSTNAME"] == "Jane" and attrs(jane)["AGE"] == 37
    assert attrs(jane)["SMS"] == "+33612345678" and jane.list_ids == [newsletter["list_id"]]
    assert jane.email_blacklisted is False

    # the same email again: Brevo's 400, and nothing is written (no contact, no process)
    contacts_before, processes_before = count(db, records), count(db, processes)
    with pytest.raises(ApiError) as e:
        client.contacts.create_contact(email="jane@example.com", attributes={"AGE": 40})
    status, body = error_of(e)
    assert status == 400 and body == {
        "code": "duplicate_parameter",
        "message": "Contact already exist",
    }
    assert count(db, records) == contacts_before and count(db, processes) == processes_before

    # updateEnabled: the contact found is updated (204)
    client.contacts.create_contact(
        email="jane@example.com", attributes={"AGE": 38}, update_enabled=True
    )
    assert attrs(client.contacts.get_contact_info(identifier=str(made.id)))["AGE"] == 38

    client.contacts.update_contact(
        identifier="crm-1",
        identifier_type="ext_id",
        ext_id="crm-2",
        attributes={"LASTNAME": "Doe", "FIRSTNAME": None, "WHATSAPP": "+44 7700 900123"},
        email_blacklisted=True,
        unlink_list_ids=[newsletter["list_id"]],
    )
    jane = client.contacts.get_contact_info(identifier="crm-2", identifier_type="ext_id")
    assert attrs(jane)["LASTNAME"] == "Doe" and "FIRSTNAME" not in attrs(jane)
    assert attrs(jane)["WHATSAPP"] == "+447700900123" and attrs(jane)["EXT_ID"] == "crm-2"
    assert jane.email_blacklisted is True and jane.list_ids == []
    assert api.get(f"/v1/contacts/{made.id}").json()["opt_ins"]["EMAIL_OPT_IN"] is False

    # each write was a process of the engine, with its per-record result
    written = api.get("/v3/processes", params={"limit": 10}).json()["processes"]
    assert {p["name"] for p in written} == {"CONTACTS_WRITE"} and len(written) == 3
    last = api.get(f"/v1/processes/{written[0]['id']}").json()
    assert last["status"] == "completed" and last["results"][0]["status"] == "updated"

    client.contacts.delete_contact(identifier="jane@example.com")
    with pytest.raises(ApiError) as e:
        client.contacts.get_contact_info(identifier="jane@example.com")
    assert e.value.status_code == 404
    with pytest.raises(ApiError) as e:
        client.contacts.delete_contact(identifier="jane@example.com")
    assert e.value.status_code == 404
    assert api.get(f"/v1/lists/{newsletter['id']}").json()["members"] == 0


def test_bad_contact_writes_are_refused_and_change_nothing(client, api, db):
    client.contacts.create_contact(email="max@example.com", attributes={"AGE": 30})
    before = (count(db, records), count(db, processes))
    cases = [
        ({"email": "max@example.com", "attributes": {"AGE": "old"}}, "attributes.AGE"),
        ({"email": "not an email"}, "identifiers.EMAIL"),
        ({"attributes": {"FIRSTNAME": "Nobody"}}, "give an email, an ext_id or a phone number"),
        ({"email": "new@example.com", "listIds": [999]}, "list 999 does not exist"),
        ({"email": "new@example.com", "colour": "red"}, "colour"),
    ]
    for body, said in cases:
        r = api.post("/v3/contacts", json=body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["code"] in ("invalid_parameter", "document_not_found"), r.text
        assert said in r.json()["message"], r.text
    with pytest.raises(ApiError) as e:
        client.contacts.update_contact(identifier="nobody@example.com", attributes={"AGE": 1})
    assert e.value.status_code == 404 and e.value.body["code"] == "document_not_found"
    with pytest.raises(ApiError) as e:
        client.contacts.update_contact(identifier="max@example.com", attributes={"AGE": "x"})
    assert e.value.status_code == 400 and "attributes.AGE" in e.value.body["message"]
    assert (count(db, records), count(db, processes)) == before
    assert attrs(client.contacts.get_contact_info(identifier="max@example.com"))["AGE"] == 30


def test_contacts_are_listed_filtered_and_paged(client, api):
    lst = client.contacts.create_list(name="VIP", folder_id=_folder(client))
    for i in range(7):
        client.contacts.create_contact(
            email=f"c{i}@example.com",
            attributes={"FIRSTNAME": "Ann" if i % 2 else "Bob", "AGE": 20 + i},
            list_ids=[lst.id] if i < 3 else [],
        )
    page = client.contacts.get_contacts(limit=3, offset=0)
    assert page.count == 7 and [c.email for c in page.contacts] == [
        "c6@example.com",
        "c5@example.com",
        "c4@example.com",
    ]
    oldest = client.contacts.get_contacts(limit=2, offset=1, sort="asc")
    assert [c.email for c in oldest.contacts] == ["c1@example.com", "c2@example.com"]
    members = client.contacts.get_contacts(list_ids=[lst.id])
    assert members.count == 3 and {c.email for c in members.contacts} == {
        f"c{i}@example.com" for i in range(3)
    }
    anns = client.contacts.get_contacts(filter='equals(FIRSTNAME,"Ann")')
    assert anns.count == 3 and all(attrs(c)["FIRSTNAME"] == "Ann" for c in anns.contacts)
    assert [c.email for c in client.contacts.get_contacts(filter="equals(AGE,25)").contacts] == [
        "c5@example.com"
    ]
    stamp = page.contacts[2].modified_at  # c4
    client.contacts.update_contact(identifier="c1@example.com", attributes={"AGE": 99})
    changed = client.contacts.get_contacts(modified_since=stamp)
    assert "c1@example.com" in {c.email for c in changed.contacts}
    assert client.contacts.get_contacts(limit=0).count == 7
    assert api.get("/v3/contacts", params={"limit": 1001}).status_code == 400
    assert api.get("/v3/contacts", params={"filter": "like(AGE,1)"}).status_code == 400


def test_a_batch_update_is_all_or_nothing(client, api, db):
    a = client.contacts.create_contact(email="a@example.com", attributes={"AGE": 1})
    client.contacts.create_contact(email="b@example.com", ext_id="b", attributes={"AGE": 2})
    client.contacts.update_batch_contacts(
        contacts=[
            BatchItem(id=a.id, attributes={"AGE": 11}),
            BatchItem(ext_id="b", attributes={"LASTNAME": "Bee"}, sms_blacklisted=True),
        ]
    )
    assert attrs(client.contacts.get_contact_info(identifier="a@example.com"))["AGE"] == 11
    b = client.contacts.get_contact_info(identifier="b@example.com")
    assert attrs(b) == {"AGE": 2, "LASTNAME": "Bee", "EXT_ID": "b"} and b.sms_blacklisted

    before = count(db, processes)
    with pytest.raises(ApiError) as e:
        client.contacts.update_batch_contacts(
            contacts=[
                BatchItem(email="a@example.com", attributes={"AGE": 12}),
                BatchItem(email="ghost@example.com", attributes={"AGE": 13}),
            ]
        )
    assert e.value.status_code == 400 and e.value.body["code"] == "document_not_found"
    assert "contacts[1]: no contact has EMAIL 'ghost@example.com'" in e.value.body["message"]
    r = api.post(
        "/v3/contacts/batch",
        json={"contacts": [{"email": "a@example.com", "attributes": {"AGE": "twelve"}}]},
    )
    assert r.status_code == 400 and "contacts[0].attributes.AGE" in r.json()["message"]
    many = {"contacts": [{"email": f"x{i}@example.com"} for i in range(101)]}
    assert api.post("/v3/contacts/batch", json=many).status_code == 400
    assert count(db, processes) == before
    assert attrs(client.contacts.get_contact_info(identifier="a@example.com"))["AGE"] == 11


def _folder(client) -> int:
    return client.contacts.create_folder(name="Customers").id
