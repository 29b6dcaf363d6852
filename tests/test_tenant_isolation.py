"""Every route of the app, called with another account's key (and with none, and a revoked one):
nothing of account A comes back, and nothing of A changes. New routes are probed automatically;
a route that cannot be probed must be listed in PUBLIC with the reason."""

from __future__ import annotations

import re

from tests.conftest import VEHICLE_SCHEMA, make_account, wait_process

#: routes that need no key, and why
PUBLIC = {
    "/healthz": "liveness for load balancers; says only ok/unavailable",
    "/metrics": "Prometheus scrape; counters without tenant data",
}
MARKERS = ("SECRET-EXT-A", "A-ONLY-VALUE", "g-secret-a", "secret-a@example.com", "A-ONLY-EVENT")
EMAIL_A = "secret-a@example.com"


def _seed_a(api):
    r = api.post(
        "/v3/objects/garage/batch/upsert",
        json={
            "records": [
                {"identifiers": {"ext_id": "g-secret-a"}, "attributes": {"name": "A-ONLY-VALUE"}}
            ]
        },
    )
    wait_process(api, r.json()["processId"])
    r = api.post(
        "/v3/objects/vehicle/batch/upsert",
        json={
            "records": [
                {
                    "identifiers": {"ext_id": "SECRET-EXT-A"},
                    "attributes": {"model": "A-ONLY-VALUE"},
                    "associations": [
                        {
                            "object_type": "garage",
                            "records": [{"identifiers": {"ext_id": "g-secret-a"}}],
                        }
                    ],
                }
            ]
        },
    )
    p = wait_process(api, r.json()["processId"])
    r = api.post(
        "/v3/events/batch",
        json={
            "events": [
                {
                    "event_name": "A-ONLY-EVENT",
                    "identifiers": {"email_id": EMAIL_A, "ext_id": "SECRET-EXT-A"},
                    "contact_properties": {"FIRSTNAME": "A-ONLY-VALUE"},
                    "event_properties": {"secret": "A-ONLY-VALUE"},
                }
            ]
        },
    )
    contact_id = wait_process(api, r.json()["processId"])["results"][0]["contact"]["id"]
    type_id = api.get("/crm/v3/schemas/vehicle").json()["objectTypeId"]
    list_a = api.post("/v1/lists", json={"name": "A-ONLY-VALUE"}).json()
    added = api.post(
        f"/v3/contacts/lists/{list_a['list_id']}/contacts/add", json={"ids": [contact_id]}
    )
    assert added.json()["contacts"]["success"] == [contact_id]
    return p["id"], p["results"][0]["id"], contact_id, (type_id, list_a)


def _operations(app):
    """Every (path template, method) the app documents: each route of each dialect."""
    for template, item in app.openapi()["paths"].items():
        for method in item:
            yield template, method.upper()


def _calls(app, process_id, record_id, contact_id, ids):
    """One request per operation, aimed at account A's objects."""
    type_id, list_a = ids
    values = {
        "list_id": list_a["id"],
        "listId": str(list_a["list_id"]),
        "folderId": str(list_a["folder_id"]),
        "attributeCategory": "normal",
        "attributeName": "FIRSTNAME",
        "attributeType": "multiple-choice",
        "multipleChoiceAttribute": "FIRSTNAME",
        "multipleChoiceAttributeOption": "x",
        "object_type": "vehicle",
        "process_id": str(process_id),
        "batch_id": str(process_id),
        "identifier": EMAIL_A,
        "contact_id": str(contact_id),
        "objectType": type_id,  # A's type, by HubSpot's objectTypeId
        "fromObjectType": type_id,
        "toObjectType": "garage",
        "objectId": str(record_id),
        "toObjectId": str(record_id),
        "propertyName": "model",
        "groupName": "vehicleinformation",
        "associationTypeId": "4002",
        "associationIdentifier": "1",
    }
    pair = {"from": {"id": str(record_id)}, "to": {"id": str(record_id)}}
    #: bodies of routes whose template alone says what they take
    exact = {
        "/crm/v3/objects/{objectType}/search": {"filterGroups": [], "properties": ["model"]},
        "/crm/v3/properties/{objectType}/batch/create": {
            "inputs": [{"name": "b_prop", "label": "B", "type": "string", "fieldType": "text"}]
        },
        "/crm/v3/properties/{objectType}/batch/read": {"inputs": [{"name": "model"}]},
        "/crm/v3/properties/{objectType}/batch/archive": {"inputs": [{"name": "model"}]},
        "/crm/v3/properties/{objectType}/groups": {"name": "b_group", "label": "B"},
        "/crm-object-schemas/v3/schemas/batch/read": {"inputs": [type_id]},
        "/crm/v3/schemas/batch/read": {"inputs": [type_id]},
        "/crm-object-schemas/v3/schemas/{objectType}": {"labels": {"singular": "B-WAS-HERE"}},
        "/crm/v3/schemas/{objectType}": {"labels": {"singular": "B-WAS-HERE"}},
        "/crm-object-schemas/v3/schemas/{objectType}/associations": {
            "fromObjectTypeId": type_id,
            "toObjectTypeId": "garage",
        },
        "/crm/v3/schemas/{objectType}/associations": {
            "fromObjectTypeId": type_id,
            "toObjectTypeId": "garage",
        },
        "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/create": {
            "inputs": [{**pair, "types": []}]
        },
        "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/labels/archive": {
            "inputs": [{**pair, "types": []}]
        },
        "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/associate/default": {
            "inputs": [pair]
        },
        "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/archive": {
            "inputs": [{"from": pair["from"], "to": [pair["to"]]}]
        },
        "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read": {
            "inputs": [{"id": str(record_id)}]
        },
        "/crm/v4/associations/{fromObjectType}/{toObjectType}/labels": {
            "name": "b_label",
            "label": "B",
            "associationTypeId": 4002,
        },
        "/crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType}/{toObjectId}": [],
        "/v3/contacts": {  # B's own contact (A's email would make B one of that email too)
            "email": "b-own@example.com",
            "updateEnabled": True,
            "attributes": {"FIRSTNAME": "B-WAS-HERE"},
        },
        "/v3/contacts/{identifier}": {"attributes": {"FIRSTNAME": "B-WAS-HERE"}},
        "/v3/contacts/batch": {
            "contacts": [{"id": contact_id, "attributes": {"FIRSTNAME": "B-WAS-HERE"}}]
        },
        "/v3/contacts/import": {
            "fileBody": f"EMAIL;FIRSTNAME\n{EMAIL_A};B-WAS-HERE",
            "listIds": [list_a["list_id"]],
        },
        "/v3/contacts/lists": {"name": "b-list", "folderId": list_a["folder_id"]},
        "/v3/contacts/lists/{listId}": {"name": "B-WAS-HERE"},
        "/v3/contacts/lists/{listId}/contacts/add": {"ids": [contact_id]},
        "/v3/contacts/lists/{listId}/contacts/remove": {"all": True},
        "/v3/contacts/folders": {"name": "b-folder"},
        "/v3/contacts/folders/{folderId}": {"name": "B-WAS-HERE"},
        "/v3/contacts/attributes/{attributeCategory}/{attributeName}": {"type": "text"},
    }
    hubspot_bodies = {
        "/batch/upsert": {
            "inputs": [{"id": "VIN-A", "idProperty": "vin", "properties": {"model": "B-WAS-HERE"}}]
        },
        "/batch/create": {"inputs": [{"properties": {"model": "B-WAS-HERE"}}]},
        "/batch/update": {
            "inputs": [{"id": str(record_id), "properties": {"model": "B-WAS-HERE"}}]
        },
        "/batch/read": {"inputs": [{"id": str(record_id)}], "properties": ["model"]},
        "/batch/archive": {"inputs": [{"id": str(record_id)}]},
    }
    event_a = {
        "event_name": "b_was_here",
        "identifiers": {"email_id": EMAIL_A, "contact_id": contact_id},
        "contact_properties": {"FIRSTNAME": "B-WAS-HERE"},
    }
    upsert_a = {
        "records": [
            {
                "identifiers": {"id": record_id},
                "attributes": {"model": "B-WAS-HERE"},
                "associations": [
                    {
                        "object_type": "garage",
                        "records": [{"identifiers": {"ext_id": "g-secret-a"}}],
                    }
                ],
            }
        ]
    }
    for template, method in _operations(app):
        path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)
        params: dict = {}
        body = None
        hubspot = next((b for k, b in hubspot_bodies.items() if template.endswith(k)), None)
        if template in exact and method in ("POST", "PUT", "PATCH"):
            body = exact[template]
        elif template.startswith("/crm") and hubspot is not None:
            body = hubspot
        elif template.startswith("/crm/v3/objects/") and method in ("POST", "PATCH"):
            body = {"properties": {"model": "B-WAS-HERE"}}
        elif template.startswith("/crm/v3/properties/") and method == "POST":
            body = {"name": "b_prop", "label": "B", "type": "string", "fieldType": "text"}
        elif template.startswith("/crm/v3/properties/") and method == "PATCH":
            body = {"label": "B-WAS-HERE"}
        elif template == "/v1/lists" and method == "POST":
            body = {"name": "b-list"}
        elif template.endswith("/schemas") and method == "POST":
            body = {"name": "bcar", "labels": {"singular": "B"}, "properties": []}
        elif template.endswith("/records"):
            params = {"limit": 10, "page_num": 1, "association": "true"}
        elif template.endswith("/associated-records"):
            params = {"ext_id": "SECRET-EXT-A"}
        elif template.endswith("/batch/upsert"):
            body = upsert_a
        elif template.endswith("/batch/delete"):
            body = {"identifiers": {"ids": [record_id]}}
        elif template == "/v1/schema" and method == "PUT":
            body = {"object_types": {}}
        elif template == "/v3/events" and method == "POST":
            body = event_a
        elif template == "/v3/events/batch":
            body = {"events": [event_a]}
        elif template == "/mainbrainer/contacts/batch":
            body = {
                "createUpdateContacts": [
                    {
                        "contactId": contact_id,
                        "propertyFields": [
                            {"propertyName": "FIRSTNAME", "propertyValue": "B-WAS-HERE"}
                        ],
                    }
                ]
            }
        yield template, method, path, params, body


def test_every_route_keeps_account_a_to_itself(server, api, db):
    process_id, record_id, contact_id, type_id = _seed_a(api)
    _, key_b = make_account(db, schema=VEHICLE_SCHEMA)
    probed = 0
    with server.client(key_b) as b:
        calls = _calls(server.app, process_id, record_id, contact_id, type_id)
        for template, method, path, params, body in calls:
            r = b.request(method, path, params=params, json=body)
            assert r.status_code < 500, (method, path, r.text)
            assert not any(m in r.text for m in MARKERS), (method, path, r.text)
            names_a = (
                "{process_id}",
                "{contact_id}",
                "{identifier}",
                "{objectType}",
                "{fromObjectType}",
                "{list_id}",
                "{listId}",
                "{folderId}",
                "{batch_id}",
            )
            if template == "/mainbrainer/contacts/batch":  # A's contact id is unknown to B
                assert r.status_code == 202, r.text
                assert r.json()["data"]["invalidContactIdList"] == [str(contact_id)]
                wait_process(b, int(r.json()["data"]["batchId"]))
            elif any(p in template for p in names_a):
                assert r.status_code == 404, (method, path, r.text)
            if r.status_code in (202, 207) and "processId" in r.json():
                wait_process(b, r.json()["processId"])
            probed += 1
    assert probed >= 10
    # and nothing of A changed
    page = api.get(
        "/v3/objects/vehicle/records", params={"limit": 10, "page_num": 1, "association": "true"}
    ).json()
    assert page["count"] == 1
    assert page["records"][0]["attributes"] == {"model": "A-ONLY-VALUE"}
    assert len(page["records"][0]["associations"][0]["records"]) == 1
    assert "b_prop" not in api.get("/v1/schema").text
    assert [t["name"] for t in api.get("/crm/v3/schemas").json()["results"]] == [
        "vehicle",
        "garage",
        "insurance",
    ]
    contact = api.get(f"/v1/contacts/{contact_id}").json()
    assert contact["attributes"] == {"FIRSTNAME": "A-ONLY-VALUE"}
    assert [e["name"] for e in contact["events"]] == ["A-ONLY-EVENT"]
    (list_a,) = api.get("/v3/contacts/lists").json()["lists"]
    assert (list_a["name"], list_a["totalSubscribers"]) == ("A-ONLY-VALUE", 1)
    assert contact["list_ids"] == [list_a["id"]]
    assert [f["name"] for f in api.get("/v3/contacts/folders").json()["folders"]] == [
        "Your first folder"
    ]
    assert "FIRSTNAME" in {
        a["name"] for a in api.get("/v3/contacts/attributes").json()["attributes"]
    }


def test_every_private_route_wants_a_valid_key(server, api, db):
    process_id, record_id, contact_id, type_id = _seed_a(api)
    from crmbatch.core.accounts import service

    _, revoked = make_account(db)
    with db.write() as conn:
        service.revoke_key(conn, revoked[:12])
    with server.client() as anon:
        for template, method, path, params, body in _calls(
            server.app, process_id, record_id, contact_id, type_id
        ):
            if template in PUBLIC or template in ("/docs", "/openapi.json"):
                continue
            for headers in ({}, {"api-key": revoked}, {"Authorization": "Bearer nope"}):
                r = anon.request(method, path, params=params, json=body, headers=headers)
                assert r.status_code == 401, (method, path, headers, r.text)
                if template.startswith("/crm"):
                    assert r.json()["category"] == "INVALID_AUTHENTICATION"
                elif template.startswith("/mainbrainer"):
                    assert r.json()["status"] == "Error"
                else:
                    assert r.json()["code"] == "unauthorized"
        for path in PUBLIC:
            assert anon.get(path).status_code == 200
