"""HubSpot's associations v4 through the official hubspot-api-client 12, unchanged, against a real
server on both backends: batch create (plain and labelled), read with paging, archive, single
PUT/DELETE, labels; the links are the ones Brevo's dialect and v3 ``associations=`` show."""

from __future__ import annotations

import json
from typing import Any

import hubspot.crm.associations.v4 as v4
import hubspot.crm.associations.v4.schema as v4_schema
import pytest
from hubspot.crm.associations.v4 import ApiException

from hubspot import HubSpot
from tests.conftest import wait_process


def _upsert(api: Any, object_type: str, records: list[dict[str, Any]]) -> list[int]:
    r = api.post(f"/v3/objects/{object_type}/batch/upsert", json={"records": records})
    assert r.status_code == 202, r.text
    return [x["id"] for x in wait_process(api, r.json()["processId"])["results"]]


@pytest.fixture
def garage_and_cars(server, api, account) -> dict[str, Any]:
    garages = _upsert(
        api,
        "garage",
        [{"identifiers": {"ext_id": f"g{i}"}, "attributes": {"name": f"G{i}"}} for i in range(3)],
    )
    cars = _upsert(
        api,
        "vehicle",
        [{"identifiers": {"ext_id": f"car-{i}"}, "attributes": {"vin": f"V{i}"}} for i in range(3)],
    )
    client = HubSpot(access_token=account[1], host=server.base_url)
    return {"client": client, "garages": garages, "cars": cars}


def pair(a: int, b: int, *type_ids: int) -> v4.PublicAssociationMultiPost:
    return v4.PublicAssociationMultiPost(
        _from=v4.PublicObjectId(id=str(a)),
        to=v4.PublicObjectId(id=str(b)),
        types=[
            v4.AssociationSpec(association_category="USER_DEFINED", association_type_id=t)
            for t in type_ids
        ],
    )


def kinds_of(client: Any) -> dict[str | None, int]:
    """label → type id, from vehicle to garage (None: the plain link)."""
    found = client.crm.associations.v4.schema.definitions_api.get_all("vehicle", "garage")
    return {k.label: k.type_id for k in found.results}


def read(client: Any, car: int, after: str | None = None) -> Any:
    request = v4.BatchInputPublicFetchAssociationsBatchRequest(
        inputs=[v4.PublicFetchAssociationsBatchRequest(id=str(car), after=after)]
    )
    return client.crm.associations.v4.batch_api.get_page("vehicle", "garage", request)


def brevo_links(api: Any, car_ext: str) -> list[int]:
    records = api.get(
        "/v3/objects/vehicle/records",
        params={"association": "true", "limit": 100, "page_num": 1},
    ).json()["records"]
    (car,) = [r for r in records if r["identifiers"].get("ext_id") == car_ext]
    return sorted(
        r["identifiers"]["id"]
        for a in car.get("associations") or []
        if a["object_type"] == "garage"
        for r in a["records"]
    )


def test_labelled_links_are_the_links_every_dialect_reads(garage_and_cars, api):
    client, (g0, g1, _), (c0, c1, _) = garage_and_cars.values()
    made = client.crm.associations.v4.schema.definitions_api.create(
        "vehicle",
        "garage",
        v4_schema.PublicAssociationDefinitionCreateRequest(label="Serviced at", name="serviced_at"),
    )
    (serviced,) = made.results
    assert serviced.label == "Serviced at" and serviced.category == "USER_DEFINED"
    plain = kinds_of(client)[None]

    answer = client.crm.associations.v4.batch_api.create(
        "vehicle",
        "garage",
        v4.BatchInputPublicAssociationMultiPost(
            inputs=[pair(c0, g0, serviced.type_id), pair(c0, g1, plain), pair(c1, g1)]
        ),
    )
    assert answer.status == "COMPLETE" and not getattr(answer, "errors", None)
    got = {(int(r.from_object_id), int(r.to_object_id)): r.labels for r in answer.results}
    assert got == {(c0, g0): ["Serviced at"], (c0, g1): [], (c1, g1): []}

    page = read(client, c0).results[0]
    shown = {int(t.to_object_id): {k.type_id for k in t.association_types} for t in page.to}
    assert shown == {g0: {plain, serviced.type_id}, g1: {plain}}
    assert brevo_links(api, "car-0") == [g0, g1]  # Brevo reads the same links
    v3 = api.get(f"/crm/v3/objects/vehicle/{c0}", params={"associations": "garage"}).json()
    assert sorted(int(x["id"]) for x in v3["associations"]["garage"]["results"]) == [g0, g1]
    # and from the other side, the same link
    back = client.crm.associations.v4.basic_api.get_page("garage", g1, "vehicle")
    assert sorted(int(x.to_object_id) for x in back.results) == [c0, c1]

    client.crm.associations.v4.batch_api.archive_labels(
        "vehicle",
        "garage",
        v4.BatchInputPublicAssociationMultiPost(inputs=[pair(c0, g0, serviced.type_id)]),
    )
    page = read(client, c0).results[0]
    assert {int(t.to_object_id) for t in page.to} == {g0, g1}  # the link stays, unlabelled
    assert all(k.label is None for t in page.to for k in t.association_types)

    client.crm.associations.v4.batch_api.archive(
        "vehicle",
        "garage",
        v4.BatchInputPublicAssociationMultiArchive(
            inputs=[
                v4.PublicAssociationMultiArchive(
                    _from=v4.PublicObjectId(id=str(c0)), to=[v4.PublicObjectId(id=str(g0))]
                )
            ]
        ),
    )
    assert brevo_links(api, "car-0") == [g1]


def test_links_made_by_brevo_read_through_v4_and_v4_single_calls(garage_and_cars, api):
    client, (g0, g1, g2), (c0, _, _) = garage_and_cars.values()
    _upsert(
        api,
        "vehicle",
        [
            {
                "identifiers": {"ext_id": "car-0"},
                "associations": [
                    {"object_type": "garage", "records": [{"identifiers": {"ext_id": "g2"}}]}
                ],
            }
        ],
    )
    assert [int(t.to_object_id) for t in read(client, c0).results[0].to] == [g2]

    basic = client.crm.associations.v4.basic_api
    made = basic.create("vehicle", c0, "garage", g0, [])
    assert (int(made.from_object_id), int(made.to_object_id), made.labels) == (c0, g0, [])
    default = basic.create_default("vehicle", c0, "garage", g1)
    assert default.results[0].association_spec.association_type_id == kinds_of(client)[None]
    first = basic.get_page("vehicle", c0, "garage", limit=2)
    assert [int(x.to_object_id) for x in first.results] == [g0, g1]
    rest = basic.get_page("vehicle", c0, "garage", limit=2, after=first.paging.next.after)
    assert [int(x.to_object_id) for x in rest.results] == [g2] and rest.paging is None

    basic.archive("vehicle", c0, "garage", g1)
    assert brevo_links(api, "car-0") == [g0, g2]


def test_batch_read_pages_past_500_links(server, api, account):
    garages = _upsert(
        api,
        "garage",
        [{"identifiers": {"ext_id": f"g{i}"}, "attributes": {"name": f"G{i}"}} for i in range(520)],
    )
    (car,) = _upsert(
        api, "vehicle", [{"identifiers": {"ext_id": "busy"}, "attributes": {"vin": "B"}}]
    )
    client = HubSpot(access_token=account[1], host=server.base_url)
    created = client.crm.associations.v4.batch_api.create(
        "vehicle",
        "garage",
        v4.BatchInputPublicAssociationMultiPost(inputs=[pair(car, g) for g in garages]),
    )
    assert len(created.results) == 520
    first = read(client, car).results[0]
    assert len(first.to) == 500 and first.paging.next.after
    second = read(client, car, first.paging.next.after).results[0]
    seen = [int(t.to_object_id) for t in first.to + second.to]
    assert seen == sorted(garages) and second.paging is None


def test_paired_labels_read_from_each_side(garage_and_cars):
    client, (g0, *_), (c0, *_) = garage_and_cars.values()
    definitions = client.crm.associations.v4.schema.definitions_api
    made = definitions.create(
        "vehicle",
        "garage",
        v4_schema.PublicAssociationDefinitionCreateRequest(
            label="Owned by", name="owner", inverse_label="Owns"
        ),
    ).results
    owned_by, owns = made
    assert (owned_by.label, owns.label) == ("Owned by", "Owns")
    assert owned_by.type_id != owns.type_id
    client.crm.associations.v4.basic_api.create(
        "vehicle",
        c0,
        "garage",
        g0,
        [
            v4.AssociationSpec(
                association_category="USER_DEFINED", association_type_id=owned_by.type_id
            )
        ],
    )
    back = client.crm.associations.v4.basic_api.get_page("garage", g0, "vehicle")
    labels = {k.label for k in back.results[0].association_types}
    assert labels == {None, "Owns"}
    from_garage = {k.label: k.type_id for k in definitions.get_all("garage", "vehicle").results}
    assert from_garage["Owns"] == owns.type_id

    definitions.update(
        "vehicle",
        "garage",
        v4_schema.PublicAssociationDefinitionUpdateRequest(
            association_type_id=owned_by.type_id, label="Kept by", inverse_label="Keeps"
        ),
    )
    assert {"Kept by", None} == set(kinds_of(client))
    definitions.remove("vehicle", "garage", owned_by.type_id)
    assert set(kinds_of(client)) == {None}
    page = read(client, c0).results[0]
    assert [int(t.to_object_id) for t in page.to] == [g0]  # the link outlives its label


def test_bad_requests_answer_hubspots_errors_and_change_nothing(garage_and_cars, api):
    client, (g0, *_), (c0, *_) = garage_and_cars.values()
    batch = client.crm.associations.v4.batch_api
    with pytest.raises(ApiException) as bad_type:
        batch.create(
            "vehicle", "garage", v4.BatchInputPublicAssociationMultiPost(inputs=[pair(c0, g0, 9)])
        )
    assert bad_type.value.status == 400
    assert "association type 9" in json.loads(bad_type.value.body)["message"]
    with pytest.raises(ApiException) as undefined:  # garage and insurance are not associated
        batch.create(
            "garage", "insurance", v4.BatchInputPublicAssociationMultiPost(inputs=[pair(g0, 1)])
        )
    assert undefined.value.status == 400
    assert "no association is defined" in json.loads(undefined.value.body)["message"]

    partial = batch.create(
        "vehicle",
        "garage",
        v4.BatchInputPublicAssociationMultiPost(inputs=[pair(c0, g0), pair(c0, 999999)]),
    )
    assert len(partial.results) == 1 and partial.num_errors == 1
    assert "999999" in partial.errors[0].message
    assert brevo_links(api, "car-0") == [g0]

    with pytest.raises(ApiException) as missing:
        client.crm.associations.v4.basic_api.create("vehicle", 999999, "garage", g0, [])
    assert missing.value.status == 404
    unknown = batch.get_page(
        "vehicle",
        "garage",
        v4.BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[v4.PublicFetchAssociationsBatchRequest(id="424242")]
        ),
    )
    assert unknown.results == [] and unknown.errors[0].context["ids"] == ["424242"]


def test_objects_created_with_inline_associations_are_linked(garage_and_cars, api):
    from hubspot.crm.objects import (
        AssociationSpec,
        BatchInputSimplePublicObjectBatchInputForCreate,
        PublicAssociationsForObject,
        PublicObjectId,
        SimplePublicObjectBatchInputForCreate,
        SimplePublicObjectInputForCreate,
    )

    client, (g0, g1, _), _ = garage_and_cars.values()
    plain = kinds_of(client)[None]

    def to(garage: int, type_id: int) -> PublicAssociationsForObject:
        spec = AssociationSpec(association_category="USER_DEFINED", association_type_id=type_id)
        return PublicAssociationsForObject(to=PublicObjectId(id=str(garage)), types=[spec])

    one = client.crm.objects.basic_api.create(
        "vehicle",
        SimplePublicObjectInputForCreate(properties={"vin": "IN-1"}, associations=[to(g0, plain)]),
    )
    batch = client.crm.objects.batch_api.create(
        "vehicle",
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                SimplePublicObjectBatchInputForCreate(
                    properties={"vin": "IN-2"}, associations=[to(g0, plain), to(g1, plain)]
                )
            ]
        ),
    )
    for car_id, garages in ((one.id, [g0]), (batch.results[0].id, [g0, g1])):
        page = client.crm.associations.v4.basic_api.get_page("vehicle", int(car_id), "garage")
        assert sorted(int(x.to_object_id) for x in page.results) == garages
    with pytest.raises(Exception) as wrong:
        client.crm.objects.basic_api.create(
            "vehicle",
            SimplePublicObjectInputForCreate(properties={"vin": "IN-3"}, associations=[to(g0, 77)]),
        )
    assert wrong.value.status == 400 and "association type 77" in wrong.value.body
    listed = api.get("/crm/v3/objects/vehicle", params={"properties": "vin", "limit": 100}).json()
    assert "IN-3" not in {r["properties"].get("vin") for r in listed["results"]}
