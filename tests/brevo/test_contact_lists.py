"""Brevo's contact lists, folders and contact attributes through the official brevo-python
5.1.0 SDK against a real server, on both backends. The lists are the ones ``/v1/lists`` and
MainBrainer's ``listId`` name; the attributes are those of the schema document."""

from __future__ import annotations

import pytest
from brevo.contacts import (
    AddContactToListRequestBodyEmails,
    AddContactToListRequestBodyExtIds,
    AddContactToListRequestBodyIds,
    CreateAttributeRequestEnumerationItem,
    RemoveContactFromListRequestBodyAll,
    RemoveContactFromListRequestBodyEmails,
    UpdateAttributeRequestEnumerationItem,
)
from brevo.core.api_error import ApiError

from tests.brevo.test_contacts import attrs, sdk
from tests.conftest import wait_process


@pytest.fixture
def client(server, account):
    return sdk(server, account[1])


def test_lists_live_in_folders_and_take_members(client, api):
    folder = client.contacts.create_folder(name="Customers").id
    other = client.contacts.create_folder(name="Archive").id
    vip = client.contacts.create_list(name="VIP", folder_id=folder).id
    client.contacts.create_list(name="Leads", folder_id=folder)
    ids = [
        client.contacts.create_contact(email=f"p{i}@example.com", ext_id=f"p{i}").id
        for i in range(4)
    ]
    added = client.contacts.add_contact_to_list(
        list_id=vip,
        request=AddContactToListRequestBodyEmails(emails=["p0@example.com", "ghost@example.com"]),
    )
    assert added.contacts.success == ["p0@example.com"]
    assert added.contacts.failure == ["ghost@example.com"]
    client.contacts.add_contact_to_list(
        list_id=vip, request=AddContactToListRequestBodyIds(ids=ids[1:3])
    )
    client.contacts.add_contact_to_list(
        list_id=vip, request=AddContactToListRequestBodyExtIds(ext_ids=["p3", "p2"])
    )
    client.contacts.update_contact(identifier="p1@example.com", email_blacklisted=True)

    got = client.contacts.get_list(list_id=vip)
    assert (got.name, got.folder_id, got.total_subscribers, got.total_blacklisted) == (
        "VIP",
        folder,
        4,
        1,
    )
    members = client.contacts.get_contacts_from_list(list_id=vip, limit=3)
    assert members.count == 4 and [c.id for c in members.contacts] == sorted(ids)[::-1][:3]
    assert all(vip in c.list_ids for c in members.contacts)

    # the same list through the native API and MainBrainer's batch (by its uuid)
    native = next(x for x in api.get("/v1/lists").json()["lists"] if x["list_id"] == vip)
    assert native["members"] == 4 and native["folder_id"] == folder
    r = api.post(
        "/mainbrainer/contacts/batch",
        json={"listId": native["id"], "createUpdateContacts": [{"email": "mb@example.com"}]},
    )
    assert r.status_code == 202, r.text
    wait_process(api, int(r.json()["data"]["batchId"]))
    assert client.contacts.get_list(list_id=vip).total_subscribers == 5
    newcomer = client.contacts.get_contact_info(identifier="mb@example.com")
    assert newcomer.list_ids == [vip]
    assert api.get(f"/v1/contacts/{newcomer.id}").json()["list_ids"] == [vip]

    removed = client.contacts.remove_contact_from_list(
        list_id=vip, request=RemoveContactFromListRequestBodyEmails(emails=["p0@example.com"])
    )
    assert removed.contacts.success == ["p0@example.com"]
    assert client.contacts.get_contact_info(identifier="p0@example.com").list_ids == []
    everyone = client.contacts.remove_contact_from_list(
        list_id=vip, request=RemoveContactFromListRequestBodyAll(all=True)
    )
    assert everyone.contacts.process_id
    assert client.contacts.get_list(list_id=vip).total_subscribers == 0

    client.contacts.update_list(list_id=vip, name="Gold", folder_id=other)
    page = client.contacts.get_lists(limit=10, sort="asc")
    assert [(x.name, x.folder_id) for x in page.lists] == [("Gold", other), ("Leads", folder)]
    assert [x.name for x in client.contacts.get_folder_lists(folder_id=folder).lists] == ["Leads"]
    folders = client.contacts.get_folders(sort="asc").folders
    assert [f.name for f in folders] == ["Customers", "Archive"]
    client.contacts.update_folder(folder_id=other, name="Old")
    assert client.contacts.get_folder(folder_id=other).name == "Old"

    client.contacts.delete_folder(folder_id=folder)  # with its lists; their contacts stay
    assert [x.name for x in client.contacts.get_lists().lists] == ["Gold"]
    assert client.contacts.get_contacts().count == 5
    client.contacts.delete_list(list_id=vip)
    assert client.contacts.get_lists().count == 0
    for call in (
        lambda: client.contacts.get_list(list_id=vip),
        lambda: client.contacts.get_folder(folder_id=folder),
        lambda: client.contacts.add_contact_to_list(
            list_id=vip, request=AddContactToListRequestBodyIds(ids=ids)
        ),
    ):
        with pytest.raises(ApiError) as e:
            call()
        assert e.value.status_code == 404 and e.value.body["code"] == "document_not_found"


def test_a_list_made_elsewhere_is_filed_in_the_first_folder(client, api):
    native = api.post("/v1/lists", json={"name": "From v1"}).json()
    first = client.contacts.get_folders().folders
    assert [f.name for f in first] == ["Your first folder"]
    assert client.contacts.get_list(list_id=native["list_id"]).folder_id == first[0].id


def test_bad_list_requests_name_the_problem(api):
    assert api.post("/v3/contacts/lists", json={"name": "x"}).status_code == 400  # no folder
    r = api.post("/v3/contacts/lists", json={"name": "x", "folderId": 42})
    assert r.status_code == 400 and r.json() == {
        "code": "document_not_found",
        "message": "Folder ID 42 does not exist",
    }
    r = api.post("/v3/contacts/lists/1/contacts/add", json={"emails": [], "ids": []})
    assert r.status_code == 400 and "exactly one of" in r.json()["message"]
    r = api.post("/v3/contacts/lists/1/contacts/add", json={"all": True})
    assert r.status_code == 400
    too_many = {"emails": [f"e{i}@example.com" for i in range(151)]}
    assert api.post("/v3/contacts/lists/1/contacts/add", json=too_many).status_code == 400
    assert api.get("/v3/contacts/lists", params={"limit": 51}).status_code == 400


def test_contact_attributes_are_the_schema_documents(client, api):
    client.contacts.create_attribute(
        attribute_category="normal", attribute_name="city", type="text"
    )
    client.contacts.create_attribute(
        attribute_category="normal", attribute_name="SCORE", type="float"
    )
    client.contacts.create_attribute(
        attribute_category="normal",
        attribute_name="COUNTRIES",
        type="multiple-choice",
        multi_category_options=["India", "United Kingdom"],
    )
    client.contacts.create_attribute(
        attribute_category="category",
        attribute_name="GENDER",
        type="category",
        enumeration=[
            CreateAttributeRequestEnumerationItem(value=1, label="Men"),
            CreateAttributeRequestEnumerationItem(value=2, label="Women"),
        ],
    )
    listed = {a.name: a for a in client.contacts.get_attributes().attributes}
    assert listed["CITY"].category == "normal" and listed["CITY"].type == "text"
    assert listed["SCORE"].type == "float" and listed["AGE"].type == "float"
    assert listed["COUNTRIES"].multi_category_options == ["India", "United Kingdom"]
    assert [(e.value, e.label) for e in listed["GENDER"].enumeration] == [(1, "Men"), (2, "Women")]
    assert "EMAIL" not in listed and listed["SMS"].type == "text"
    schema = api.get("/v1/schema").json()["object_types"]["contact"]["attributes"]
    assert schema["GENDER"]["type"] == "category" and schema["SCORE"]["type"] == "number"

    # values the Brevo way: a category by its number or label, choices by their texts
    client.contacts.create_contact(
        email="a@example.com",
        attributes={"GENDER": 2, "COUNTRIES": ["India", "United Kingdom"], "CITY": "Pune"},
    )
    client.contacts.create_contact(email="b@example.com", attributes={"GENDER": "Men"})
    a = attrs(client.contacts.get_contact_info(identifier="a@example.com"))
    assert a["GENDER"] == 2 and a["COUNTRIES"] == ["India", "United Kingdom"]
    assert attrs(client.contacts.get_contact_info(identifier="b@example.com"))["GENDER"] == 1
    stored = api.get("/v1/contacts/" + str(client.contacts.get_contacts().contacts[-1].id))
    assert stored.json()["attributes"]["COUNTRIES"] == ["India", "United_Kingdom"]  # the keys

    client.contacts.update_attribute(
        attribute_category="category",
        attribute_name="GENDER",
        enumeration=[
            UpdateAttributeRequestEnumerationItem(value=1, label="Male"),
            UpdateAttributeRequestEnumerationItem(value=2, label="Female"),
            UpdateAttributeRequestEnumerationItem(value=3, label="Other"),
        ],
    )
    client.contacts.update_attribute(
        attribute_category="normal", attribute_name="COUNTRIES", multi_category_options=["France"]
    )
    client.contacts.delete_multi_attribute_options(
        multiple_choice_attribute="COUNTRIES", multiple_choice_attribute_option="India"
    )
    listed = {a.name: a for a in client.contacts.get_attributes().attributes}
    assert [e.label for e in listed["GENDER"].enumeration] == ["Male", "Female", "Other"]
    assert listed["COUNTRIES"].multi_category_options == ["United Kingdom", "France"]

    client.contacts.delete_attribute(attribute_category="normal", attribute_name="CITY")
    assert "CITY" not in {a.name for a in client.contacts.get_attributes().attributes}
    for category, name, body, status in (
        ("normal", "SCORE", {"type": "float"}, 400),  # exists
        ("transactional", "ORDER", {"type": "id"}, 400),
        ("category", "TIER", {"type": "category"}, 400),  # no enumeration
        ("normal", "BAD-NAME", {"type": "text"}, 400),
    ):
        r = api.post(f"/v3/contacts/attributes/{category}/{name}", json=body)
        assert r.status_code == status, (name, r.text)
    assert api.delete("/v3/contacts/attributes/normal/NOPE").status_code == 404
    r = api.delete("/v3/contacts/attributes/normal/SMS")
    assert r.status_code == 400 and "own attributes" in r.json()["message"]
