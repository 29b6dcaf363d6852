"""Companies (0-2) and deals (0-3): system types of every account with HubSpot's default
properties, written, searched and associated through hubspot-api-client 12 unchanged, and seen by
Brevo as the companies and deals its custom objects associate with by ext_id. Both backends."""

from __future__ import annotations

import copy
from typing import Any

import hubspot.crm.associations.v4 as v4
import pytest
from hubspot.crm.companies import SimplePublicObjectInputForCreate as CompanyIn
from hubspot.crm.deals import (
    BatchInputSimplePublicObjectBatchInputForCreate,
    SimplePublicObjectBatchInputForCreate,
)
from hubspot.crm.objects import Filter, FilterGroup, PublicObjectSearchRequest
from hubspot.crm.properties import PropertyCreate

from crmbatch.core.schema import service as schemas
from hubspot import HubSpot
from tests.conftest import VEHICLE_SCHEMA, make_account, wait_process


@pytest.fixture
def crm(server, db) -> tuple[Any, Any, int]:
    schema = copy.deepcopy(VEHICLE_SCHEMA)
    schema["object_types"]["vehicle"]["associations"].append("company")
    account, key = make_account(db, schema=schema)
    return HubSpot(access_token=key, host=server.base_url), server.client(key), account.id


def test_companies_and_deals_have_hubspots_defaults_and_take_writes(crm):
    client, _, _ = crm
    props = {p.name for p in client.crm.properties.core_api.get_all("companies").results}
    assert {"name", "domain"} <= props
    deal_props = {p.name for p in client.crm.properties.core_api.get_all("0-3").results}
    assert {"dealname", "amount", "dealstage", "pipeline", "closedate"} <= deal_props
    client.crm.properties.core_api.create(
        "companies",
        PropertyCreate(
            name="industry_code",
            label="Industry",
            type="string",
            field_type="text",
            group_name="companyinformation",
        ),
    )

    acme = client.crm.companies.basic_api.create(
        CompanyIn(properties={"name": "Acme", "domain": "acme.example", "industry_code": "42"})
    )
    assert acme.properties["domain"] == "acme.example"
    deals = client.crm.deals.batch_api.create(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                SimplePublicObjectBatchInputForCreate(
                    properties={
                        "dealname": f"Deal {i}",
                        "amount": str(1000 * i),
                        "dealstage": "appointmentscheduled",
                        "pipeline": "default",
                    }
                )
                for i in range(1, 4)
            ]
        )
    )
    assert len(deals.results) == 3

    found = client.crm.deals.search_api.do_search(
        PublicObjectSearchRequest(
            filter_groups=[
                FilterGroup(filters=[Filter(property_name="amount", operator="GTE", value="2000")])
            ],
            properties=["dealname", "amount"],
            sorts=["amount"],
        )
    )
    assert [r.properties["dealname"] for r in found.results] == ["Deal 2", "Deal 3"]
    by_domain = client.crm.companies.search_api.do_search(
        PublicObjectSearchRequest(
            filter_groups=[
                FilterGroup(
                    filters=[Filter(property_name="domain", operator="EQ", value="acme.example")]
                )
            ]
        )
    )
    assert [r.id for r in by_domain.results] == [acme.id]

    # HubSpot's own association type ids link the standard objects
    batch = client.crm.associations.v4.batch_api
    batch.create(
        "deals",
        "companies",
        v4.BatchInputPublicAssociationMultiPost(
            inputs=[
                v4.PublicAssociationMultiPost(
                    _from=v4.PublicObjectId(id=d.id),
                    to=v4.PublicObjectId(id=acme.id),
                    types=[
                        v4.AssociationSpec(
                            association_category="HUBSPOT_DEFINED", association_type_id=341
                        )
                    ],
                )
                for d in deals.results
            ]
        ),
    )
    company = client.crm.companies.basic_api.get_by_id(acme.id, associations=["deals"])
    linked = sorted(r.id for r in company.associations["deals"].results)
    assert linked == sorted(d.id for d in deals.results)
    kinds = client.crm.associations.v4.schema.definitions_api.get_all("companies", "deals")
    assert [(k.category, k.type_id, k.label) for k in kinds.results] == [
        ("HUBSPOT_DEFINED", 342, None)
    ]


def test_brevo_associates_custom_objects_with_companies_by_ext_id(crm):
    client, api, _ = crm
    acme = client.crm.companies.basic_api.create(CompanyIn(properties={"name": "Acme"}))
    with api:
        r = api.post(
            "/v3/objects/vehicle/batch/upsert",
            json={
                "records": [
                    {
                        "identifiers": {"ext_id": "car-1"},
                        "attributes": {"vin": "C-1"},
                        "associations": [
                            {
                                "object_type": "company",
                                "records": [{"identifiers": {"ext_id": acme.id}}],
                            }
                        ],
                    },
                    {
                        "identifiers": {"ext_id": "car-2"},
                        "attributes": {"vin": "C-2"},
                        "associations": [
                            {
                                "object_type": "company",
                                "records": [{"identifiers": {"ext_id": "9999999"}}],
                            }
                        ],
                    },
                ]
            },
        )
        done = wait_process(api, r.json()["processId"])
        assert [x["status"] for x in done["results"]] == ["created", "failed"]
        assert done["results"][1]["errors"][0]["code"] == "association_target_not_found"
        page = api.get(
            "/v3/objects/vehicle/records",
            params={"limit": 10, "page_num": 1, "association": "true"},
        ).json()
        (car,) = [x for x in page["records"] if x["identifiers"].get("ext_id") == "car-1"]
        assert car["associations"] == [
            {"object_type": "company", "records": [{"identifiers": {"id": int(acme.id)}}]}
        ]
    got = client.crm.companies.basic_api.get_by_id(acme.id, associations=["vehicle"])
    assert [r.id for r in got.associations["vehicle"].results] == [str(car["identifiers"]["id"])]


def test_a_document_cannot_drop_the_system_associations(db, crm):
    _, _, account_id = crm
    with db.write() as conn:
        schemas.apply(conn, account_id, {"object_types": {"contact": {"associations": []}}})
        schema = schemas.load(conn, account_id)
    assert {"company", "deal"} <= schema.types["contact"].associations
