"""The OpenAPI document's examples (what /docs shows): each request example is valid under its
own schema and is accepted by a real server, every batch operation documents Idempotency-Key,
and each error status has its own example in the shape of the path's dialect."""

from __future__ import annotations

import jsonschema_rs

from crmbatch.openapi_examples import REQUESTS
from tests.conftest import wait_process


def test_request_examples_are_valid_and_accepted(server, api):
    doc = server.app.openapi()
    for (method, path), example in REQUESTS.items():
        content = doc["paths"][path][method]["requestBody"]["content"]["application/json"]
        assert content["example"] == example
        jsonschema_rs.validate({**content["schema"], "components": doc["components"]}, example)
    garage = {"records": [{"identifiers": {"ext_id": "g-1"}, "attributes": {"name": "Main St"}}]}
    wait_process(api, api.post("/v3/objects/garage/batch/upsert", json=garage).json()["processId"])
    r = api.post(  # as in the tour: the garage first, then the car linked to it
        "/v3/objects/vehicle/batch/upsert",
        json=REQUESTS[("post", "/v3/objects/{object_type}/batch/upsert")],
    )
    assert r.status_code == 202, r.text
    done = wait_process(api, r.json()["processId"])
    assert done["counts"]["created"] == 1, done["results"][0]["errors"]


def test_batch_operations_document_idempotency_and_errors_by_status(server):
    doc = server.app.openapi()
    batches = 0
    for path, item in doc["paths"].items():
        for method, op in item.items():
            responses = op.get("responses", {})
            if "202" in responses:
                batches += 1
                names = [p["name"] for p in op.get("parameters", [])]
                assert "Idempotency-Key" in names, (method, path)
            examples = {
                status: r["content"]["application/json"]["example"]
                for status, r in responses.items()
                if int(status) >= 400
                and "example" in r.get("content", {}).get("application/json", {})
            }
            messages = [e.get("message") for e in examples.values()]
            assert len(set(messages)) == len(messages), (method, path)  # one per status
            for example in examples.values():
                if path.startswith(("/crm/", "/crm-object-schemas/")):
                    assert {"status", "message", "category", "correlationId"} <= set(example)
                elif path.startswith("/v3/"):
                    assert set(example) == {"code", "message"}, (path, example)
    assert batches >= 5
    upsert = doc["paths"]["/v3/objects/{object_type}/batch/upsert"]["post"]["responses"]
    assert upsert["404"]["content"]["application/json"]["example"]["code"] == "document_not_found"
