"""The rest of HubSpot's properties and schemas APIs through hubspot-api-client 12, unchanged,
against a real server on both backends: property batches and archives, property groups, schema
updates and deletes, schema association definitions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hubspot.crm.properties import (
    BatchInputPropertyCreate,
    BatchInputPropertyName,
    BatchReadInputPropertyName,
    PropertyCreate,
    PropertyGroupCreate,
    PropertyGroupUpdate,
    PropertyName,
    PropertyUpdate,
)
from hubspot.crm.properties.exceptions import ApiException as PropertiesError
from hubspot.crm.schemas import (
    AssociationDefinitionEgg,
    ObjectTypeDefinitionLabels,
    ObjectTypeDefinitionPatch,
)
from hubspot.crm.schemas.exceptions import ApiException as SchemasError

from hubspot import HubSpot
from tests.conftest import wait_process


@pytest.fixture
def client(server, account) -> Any:
    return HubSpot(access_token=account[1], host=server.base_url)


def prop(name: str, **kw: Any) -> PropertyCreate:
    return PropertyCreate(
        name=name,
        label=name.title(),
        type="string",
        field_type="text",
        group_name=kw.pop("group_name", "vehicleinformation"),
        **kw,
    )


def names(client: Any) -> set[str]:
    return {p.name for p in client.crm.properties.core_api.get_all("vehicle").results}


def test_property_batches_create_read_and_archive(client, api):
    batch = client.crm.properties.batch_api
    made = batch.create(
        "vehicle", BatchInputPropertyCreate(inputs=[prop("trim"), prop("model"), prop("seats")])
    )
    assert sorted(p.name for p in made.results) == ["seats", "trim"]
    assert made.num_errors == 1 and "model" in made.errors[0].message  # exists already
    assert {"trim", "seats", "model"} <= names(client)

    read = batch.read(
        "vehicle",
        BatchReadInputPropertyName(
            archived=False, inputs=[PropertyName(name="trim"), PropertyName(name="nope")]
        ),
    )
    assert [p.name for p in read.results] == ["trim"] and read.errors[0].context["names"] == [
        "nope"
    ]

    car = api.post("/crm/v3/objects/vehicle", json={"properties": {"trim": "LX", "vin": "T-1"}})
    car_id = car.json()["id"]
    client.crm.properties.core_api.archive("vehicle", "trim")
    batch.archive("vehicle", BatchInputPropertyName(inputs=[PropertyName(name="seats")]))
    assert not {"trim", "seats"} & names(client)
    got = api.get(f"/crm/v3/objects/vehicle/{car_id}", params={"properties": "trim,vin"}).json()
    assert "trim" not in got["properties"]
    client.crm.properties.core_api.create("vehicle", prop("trim"))  # the values come back
    got = api.get(f"/crm/v3/objects/vehicle/{car_id}", params={"properties": "trim"}).json()
    assert got["properties"]["trim"] == "LX"

    with pytest.raises(PropertiesError) as primary:
        client.crm.properties.core_api.archive("vehicle", "model")
    assert primary.value.status == 400 and "primary" in json.loads(primary.value.body)["message"]
    with pytest.raises(PropertiesError) as missing:
        batch.archive("vehicle", BatchInputPropertyName(inputs=[PropertyName(name="nope")]))
    assert missing.value.status == 404


def test_property_groups(client, api):
    groups = client.crm.properties.groups_api
    assert [g.name for g in groups.get_all("vehicle").results] == ["vehicleinformation"]
    groups.create("vehicle", PropertyGroupCreate(name="technical", label="Technical"))
    groups.create("vehicle", PropertyGroupCreate(name="legal", label="Legal", display_order=0))
    assert [g.name for g in groups.get_all("vehicle").results] == [
        "vehicleinformation",
        "legal",
        "technical",
    ]
    with pytest.raises(PropertiesError) as taken:
        groups.create("vehicle", PropertyGroupCreate(name="legal", label="Again"))
    assert taken.value.status == 409

    changed = groups.update(
        "vehicle", "technical", PropertyGroupUpdate(label="Tech", display_order=0)
    )
    assert (changed.label, changed.display_order) == ("Tech", 0)
    client.crm.properties.core_api.create("vehicle", prop("engine", group_name="technical"))
    assert client.crm.properties.core_api.get_by_name("vehicle", "engine").group_name == "technical"
    with pytest.raises(PropertiesError) as holding:
        groups.archive("vehicle", "technical")
    assert holding.value.status == 400 and "engine" in json.loads(holding.value.body)["message"]
    client.crm.properties.core_api.update(
        "vehicle", "engine", PropertyUpdate(group_name="vehicleinformation")
    )
    groups.archive("vehicle", "technical")
    assert [g.name for g in groups.get_all("vehicle").results] == ["vehicleinformation", "legal"]
    # a property naming a group that does not exist makes it, as HubSpot code expects
    client.crm.properties.core_api.create("vehicle", prop("fleet", group_name="fleet_info"))
    assert groups.get_by_name("vehicle", "fleet_info").label == "fleet_info"
    doc = api.get("/v1/schema").json()
    assert doc["object_types"]["vehicle"]["attributes"]["fleet"]["group"] == "fleet_info"


def test_schema_updates_deletes_and_association_definitions(client, api):
    core = client.crm.schemas.core_api
    patched = core.update(
        "vehicle",
        ObjectTypeDefinitionPatch(
            labels=ObjectTypeDefinitionLabels(singular="Car", plural="Cars"),
            primary_display_property="vin",
            required_properties=["vin"],
            searchable_properties=["model", "vin"],
            secondary_display_properties=["make"],
        ),
    )
    assert (patched.labels.singular, patched.labels.plural) == ("Car", "Cars")
    assert patched.primary_display_property == "vin"
    assert patched.searchable_properties == ["model", "vin"]
    assert patched.secondary_display_properties == ["make"]
    assert core.get_by_id("vehicle").required_properties == ["vin"]
    with pytest.raises(SchemasError) as unknown:
        core.update("vehicle", ObjectTypeDefinitionPatch(searchable_properties=["nope"]))
    assert unknown.value.status == 404

    # association definitions: garage and insurance are not associated yet
    made = core.create_association(
        "garage",
        AssociationDefinitionEgg(from_object_type_id="garage", to_object_type_id="insurance"),
    )
    garage = core.get_by_id("garage")
    insurance_id = core.get_by_id("insurance").object_type_id
    assert made.to_object_type_id == insurance_id
    assert [a.id for a in garage.associations if a.to_object_type_id == insurance_id] == [made.id]
    core.archive_association("garage", made.id)
    assert not [a for a in core.get_by_id("garage").associations if a.id == made.id]

    r = api.post(
        "/v3/objects/insurance/batch/upsert",
        json={"records": [{"identifiers": {"ext_id": "p1"}, "attributes": {"policy": "P"}}]},
    )
    wait_process(api, r.json()["processId"])
    with pytest.raises(SchemasError) as holds:
        core.archive("insurance")
    assert holds.value.status == 400 and "1 records" in json.loads(holds.value.body)["message"]
    (policy,) = api.get("/crm/v3/objects/insurance").json()["results"]
    assert api.delete(f"/crm/v3/objects/insurance/{policy['id']}").status_code == 204
    core.archive("insurance")
    batch = api.post(
        "/crm-object-schemas/v3/schemas/batch/read",
        json={"inputs": ["insurance", "vehicle", "garage"]},
    ).json()
    assert [s["name"] for s in batch["results"]] == ["vehicle", "garage"]


def test_an_association_with_links_cannot_be_removed(client, api):
    r = api.post(
        "/v3/objects/garage/batch/upsert",
        json={"records": [{"identifiers": {"ext_id": "g"}, "attributes": {"name": "G"}}]},
    )
    wait_process(api, r.json()["processId"])
    r = api.post(
        "/v3/objects/vehicle/batch/upsert",
        json={
            "records": [
                {
                    "identifiers": {"ext_id": "c"},
                    "attributes": {"vin": "L-1"},
                    "associations": [
                        {"object_type": "garage", "records": [{"identifiers": {"ext_id": "g"}}]}
                    ],
                }
            ]
        },
    )
    wait_process(api, r.json()["processId"])
    schema = client.crm.schemas.core_api.get_by_id("vehicle")
    (to_garage,) = [a for a in schema.associations if a.name == "vehicle_to_garage"]
    with pytest.raises(SchemasError) as linked:
        client.crm.schemas.core_api.archive_association("vehicle", to_garage.id)
    assert linked.value.status == 400 and "linked" in json.loads(linked.value.body)["message"]
