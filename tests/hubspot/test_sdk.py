"""The official hubspot-api-client 12 against a real server (issue 4): a user's code unchanged,
pointed at crmbatch with ``host=``. Both backends."""

from __future__ import annotations

import json

import pytest
from hubspot.crm.objects import (
    ApiException,
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchInputSimplePublicObjectId,
    BatchReadInputSimplePublicObjectId,
    SimplePublicObjectBatchInput,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.objects.exceptions import NotFoundException, UnauthorizedException
from hubspot.crm.properties import OptionInput, PropertyCreate
from hubspot.crm.schemas import (
    ObjectSchemaEgg,
    ObjectTypeDefinitionLabels,
    ObjectTypePropertyCreate,
)

from hubspot import HubSpot
from tests.conftest import make_account, wait_process


@pytest.fixture
def hubspot_client(server, db):
    _, key = make_account(db)  # an empty account: everything is defined through HubSpot
    return HubSpot(access_token=key, host=server.base_url), key


def upsert_body(rows, id_property="vin"):
    return BatchInputSimplePublicObjectBatchInputUpsert(
        inputs=[
            SimplePublicObjectBatchInputUpsert(
                id=row_id, id_property=id_property, properties=props, object_write_trace_id=trace
            )
            for row_id, props, trace in rows
        ]
    )


def define_car(client):
    schema = client.crm.schemas.core_api.create(
        ObjectSchemaEgg(
            name="car",
            labels=ObjectTypeDefinitionLabels(singular="Car", plural="Cars"),
            primary_display_property="model",
            required_properties=["model"],
            associated_objects=["CONTACT"],
            properties=[
                ObjectTypePropertyCreate(
                    name="model", label="Model", type="string", field_type="text"
                ),
                ObjectTypePropertyCreate(
                    name="year", label="Year", type="number", field_type="number"
                ),
            ],
        )
    )
    client.crm.properties.core_api.create(
        "car",
        PropertyCreate(
            name="vin",
            label="VIN",
            type="string",
            field_type="text",
            group_name="carinformation",
            has_unique_value=True,
        ),
    )
    client.crm.properties.core_api.create(
        schema.object_type_id,
        PropertyCreate(
            name="fuel",
            label="Fuel",
            type="enumeration",
            field_type="select",
            group_name="carinformation",
            options=[
                OptionInput(label="Petrol", value="petrol", display_order=0, hidden=False),
                OptionInput(label="Electric", value="electric", display_order=1, hidden=False),
            ],
        ),
    )
    return schema


def test_schemas_and_properties_land_in_the_schema_document(hubspot_client, api_for):
    client, key = hubspot_client
    schema = define_car(client)
    assert schema.object_type_id.startswith("2-")
    assert schema.fully_qualified_name.endswith("_car")
    assert [a.to_object_type_id for a in schema.associations] == ["0-1"]
    listed = client.crm.schemas.core_api.get_all()
    assert [s.name for s in listed.results] == ["car"]
    again = client.crm.schemas.core_api.get_by_id(schema.fully_qualified_name)
    assert {p.name for p in again.properties} == {"model", "year", "vin", "fuel"}
    vin = client.crm.properties.core_api.get_by_name("car", "vin")
    assert (vin.type, vin.field_type, vin.has_unique_value) == ("string", "text", True)
    fuel = client.crm.properties.core_api.get_by_name(schema.object_type_id, "fuel")
    assert [o.value for o in fuel.options] == ["petrol", "electric"]
    with pytest.raises(Exception) as taken:
        client.crm.properties.core_api.create(
            "car",
            PropertyCreate(
                name="vin", label="VIN", type="string", field_type="text", group_name="g"
            ),
        )
    assert taken.value.status == 409

    document = api_for(key).get("/v1/schema").json()["object_types"]
    car = document["car"]
    assert car["primary_attribute"] == "model"
    assert car["attributes"]["vin"]["unique"] is True
    assert car["attributes"]["year"]["type"] == "number"
    assert [o["key"] for o in car["attributes"]["fuel"]["options"]] == ["petrol", "electric"]
    assert car["associations"] == ["contact"]


def test_batch_upsert_by_a_unique_property_then_read_update_page_and_archive(
    hubspot_client, api_for
):
    client, key = hubspot_client
    define_car(client)
    first = client.crm.objects.batch_api.upsert(
        "car",
        upsert_body(
            [
                ("VIN-1", {"model": "Civic", "year": "2020", "fuel": "petrol"}, "t1"),
                ("VIN-2", {"model": "Golf"}, "t2"),
            ]
        ),
    )
    assert first.status == "COMPLETE"
    assert first.requested_at <= first.started_at <= first.completed_at
    _, _, headers = client.crm.objects.batch_api.upsert_with_http_info(
        "car", upsert_body([("VIN-1", {}, None)])
    )
    assert len(headers["X-HubSpot-Correlation-Id"]) == 36
    assert [(r.properties["vin"], r.new) for r in first.results] == [
        ("VIN-1", True),
        ("VIN-2", True),
    ]
    assert first.results[0].properties["year"] == "2020"
    assert first.results[0].object_write_trace_id == "t1"
    ids = {r.properties["vin"]: r.id for r in first.results}

    second, status, _ = client.crm.objects.batch_api.upsert_with_http_info(
        "car",
        upsert_body(
            [("VIN-1", {"year": 2021}, None), ("VIN-3", {"model": "Zoe", "fuel": "electric"}, None)]
        ),
    )
    assert status == 200
    assert [(r.id == ids.get("VIN-1"), r.new) for r in second.results] == [
        (True, False),
        (False, True),
    ]

    read = client.crm.objects.batch_api.read(
        "car",
        BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id="VIN-1")],
            id_property="vin",
            properties=["model", "year"],
            properties_with_history=["year"],
        ),
    )
    (car,) = read.results
    assert car.properties["model"] == "Civic" and car.properties["year"] == "2021"
    assert [h.value for h in car.properties_with_history["year"]] == ["2021", "2020"]

    updated = client.crm.objects.batch_api.update(
        "car",
        BatchInputSimplePublicObjectBatchInput(
            inputs=[SimplePublicObjectBatchInput(id=ids["VIN-2"], properties={"year": "1999"})]
        ),
    )
    assert updated.results[0].properties["year"] == "1999"

    page = client.crm.objects.basic_api.get_page("car", limit=2)
    assert len(page.results) == 2 and page.paging.next.after
    rest = client.crm.objects.basic_api.get_page("car", limit=2, after=page.paging.next.after)
    assert len(rest.results) == 1 and rest.paging is None
    everything = client.crm.objects.get_all("car")
    assert sorted(r.properties["vin"] for r in everything) == ["VIN-1", "VIN-2", "VIN-3"]

    client.crm.objects.batch_api.archive(
        "car", BatchInputSimplePublicObjectId(inputs=[SimplePublicObjectId(id=ids["VIN-2"])])
    )
    assert len(client.crm.objects.get_all("car")) == 2
    archived = client.crm.objects.basic_api.get_page("car", archived=True)
    assert [r.id for r in archived.results] == [ids["VIN-2"]] and archived.results[0].archived
    with pytest.raises(NotFoundException):
        client.crm.objects.basic_api.get_by_id("car", ids["VIN-2"])
    # an upsert that matches an archived record restores it
    back = client.crm.objects.batch_api.upsert(
        "car", upsert_body([("VIN-2", {"model": "Golf 2"}, None)])
    )
    assert (back.results[0].id, back.results[0].new, back.results[0].archived) == (
        ids["VIN-2"],
        False,
        False,
    )

    # written through HubSpot, read through Brevo: the same records; and the other way round
    brevo_api = api_for(key)
    brevo = brevo_api.get("/v3/objects/car/records", params={"limit": 10, "page_num": 1}).json()
    assert brevo["count"] == 3
    assert {r["attributes"]["vin"]: r["attributes"].get("year") for r in brevo["records"]} == {
        "VIN-1": 2021,
        "VIN-2": 1999,
        "VIN-3": None,
    }
    r = brevo_api.post(
        "/v3/objects/car/batch/upsert",
        json={
            "records": [
                {
                    "identifiers": {"ext_id": "b-1"},
                    "attributes": {"model": "Up", "vin": "VIN-9", "year": 2019},
                }
            ]
        },
    )
    assert r.status_code == 202
    wait_process(brevo_api, r.json()["processId"])
    from_brevo = client.crm.objects.basic_api.get_by_id("car", "VIN-9", id_property="vin")
    assert (from_brevo.properties["model"], from_brevo.properties["year"]) == ("Up", "2019")


def test_a_partial_failure_answers_207_and_writes_the_rest(hubspot_client):
    client, _ = hubspot_client
    define_car(client)
    data, status, _ = client.crm.objects.batch_api.upsert_with_http_info(
        "car",
        upsert_body(
            [
                ("VIN-OK", {"model": "Civic"}, "good"),
                ("VIN-BAD", {"year": "old"}, "bad-year"),
                ("VIN-UNK", {"colour": "red"}, "unknown-prop"),
            ]
        ),
    )
    assert status == 207
    assert [r.properties["vin"] for r in data.results] == ["VIN-OK"]
    assert data.num_errors == 2
    by_trace = {e.context["objectWriteTraceId"][0]: e for e in data.errors}
    assert by_trace["bad-year"].category == "VALIDATION_ERROR"
    assert 'year: expected a number, got "old"' in by_trace["bad-year"].message
    assert "colour" in by_trace["unknown-prop"].message
    assert all(e.status == "error" and e.links == {} and e.errors == [] for e in data.errors)

    missing, status, _ = client.crm.objects.batch_api.read_with_http_info(
        "car",
        BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id="VIN-OK"), SimplePublicObjectId(id="VIN-NONE")],
            id_property="vin",
        ),
    )
    assert status == 207
    assert missing.errors[0].category == "OBJECT_NOT_FOUND"
    assert missing.errors[0].context["ids"] == ["VIN-NONE"]


def test_whole_request_errors_are_400_in_hubspots_body(hubspot_client):
    client, _ = hubspot_client
    define_car(client)
    cases = [
        (upsert_body([("VIN-1", {}, None), ("VIN-1", {}, None)]), "Duplicate IDs found"),
        (upsert_body([("Civic", {}, None)], id_property="model"), "non-unique"),
        (upsert_body([(f"V{i}", {}, None) for i in range(101)]), "1 to 100"),
    ]
    for body, text in cases:
        with pytest.raises(ApiException) as e:
            client.crm.objects.batch_api.upsert("car", body)
        assert e.value.status == 400
        error = json.loads(e.value.body)
        assert error["category"] == "VALIDATION_ERROR" and text in error["message"]
        assert error["status"] == "error" and error["correlationId"]
        assert e.value.headers["X-HubSpot-Correlation-Id"] == error["correlationId"]
    assert client.crm.objects.get_all("car") == []


def test_unknown_object_type_is_404_and_a_bad_token_401(hubspot_client, server):
    client, _ = hubspot_client
    with pytest.raises(NotFoundException) as e:
        client.crm.objects.basic_api.get_page("spaceship")
    assert json.loads(e.value.body)["category"] == "OBJECT_NOT_FOUND"
    bad = HubSpot(access_token="pat-na1-wrong", host=server.base_url)
    with pytest.raises(UnauthorizedException) as e:
        bad.crm.objects.basic_api.get_page("contacts")
    assert json.loads(e.value.body)["category"] == "INVALID_AUTHENTICATION"


def test_contacts_upsert_by_email_are_the_contacts_brevo_sees(hubspot_client, api_for):
    client, key = hubspot_client
    client.crm.properties.core_api.create(
        "contacts",
        PropertyCreate(
            name="firstname", label="First name", type="string", field_type="text", group_name="g"
        ),
    )
    done = client.crm.contacts.batch_api.upsert(
        upsert_body([("Ann@Example.com", {"firstname": "Ann"}, None)], id_property="email")
    )
    (ann,) = done.results
    assert ann.new is True and ann.properties["email"] == "ann@example.com"
    again = client.crm.contacts.batch_api.upsert(
        upsert_body([("ann@example.com", {"firstname": "Anne"}, None)], id_property="email")
    )
    assert (again.results[0].id, again.results[0].new) == (ann.id, False)
    brevo = api_for(key).get("/v3/contacts/ann@example.com").json()
    assert brevo["id"] == int(ann.id) and brevo["attributes"] == {"FIRSTNAME": "Anne"}
    created = client.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(
            properties={"email": "bob@example.com", "firstname": "Bob"}
        )
    )
    assert created.properties["firstname"] == "Bob"
    got = client.crm.contacts.basic_api.get_by_id("bob@example.com", id_property="email")
    assert got.id == created.id
