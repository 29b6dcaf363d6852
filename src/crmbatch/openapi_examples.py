"""Examples in the OpenAPI document: the README tour's request bodies, the ``Idempotency-Key``
header on every operation that accepts a batch (202), and for each error status an example
rendered by the path's own dialect, so ``/docs`` shows what a client will really get."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crmbatch.core.errors import (
    Conflict,
    CrmError,
    FailedDependency,
    InvalidInput,
    MethodNotAllowed,
    NotAcceptable,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    Unauthorized,
    Unavailable,
    Unprocessable,
    UnsupportedMediaType,
)

Renderer = Callable[[CrmError], tuple[int, dict[str, Any]]]

#: one error per status, as crmbatch says it
ERRORS: dict[int, CrmError] = {
    400: InvalidInput([("records[0].attributes.year", "expected a number, got 'abc'")]),
    401: Unauthorized("Key not found; send your key in the api-key header (api-key: YOUR_KEY)"),
    403: PermissionDenied("contact is a system type: write contacts through /v3/contacts"),
    404: NotFound("no object type 'vehicles' in this account; did you mean 'vehicle'?"),
    405: MethodNotAllowed("method PATCH not allowed on /v3/objects/vehicle/batch/upsert"),
    406: NotAcceptable("this endpoint answers application/json only"),
    409: Conflict("Idempotency-Key 'import-42' was used with a different request"),
    413: PayloadTooLarge("the body is over 1 MB (1,048,576 bytes); send fewer records"),
    415: UnsupportedMediaType("the body must be JSON (content-type: application/json)"),
    422: Unprocessable("the records could not be processed"),
    424: FailedDependency("primary attribute not found for object type 'vehicle'"),
    503: Unavailable("earlier batches of vehicle are still being applied; nothing was written"),
}

IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Send a batch again with the same key (and the same body) and it is not "
    "applied twice: the answer names the process the first request made. Kept 24 hours.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "example": "import-42",
}

VEHICLE = {
    "identifiers": {"ext_id": "car-1"},
    "attributes": {"model": "Civic", "year": 2021, "color": "black", "make": "Honda"},
    "associations": [
        {"object_type": "garage", "action": "link", "records": [{"identifiers": {"ext_id": "g-1"}}]}
    ],
}

#: (method, path) → a request body from the README's tour
REQUESTS: dict[tuple[str, str], Any] = {
    ("post", "/v3/objects/{object_type}/batch/upsert"): {"records": [VEHICLE]},
    ("post", "/v3/objects/{object_type}/batch/delete"): {"identifiers": {"ext_ids": ["car-1"]}},
    ("post", "/v3/events/batch"): {
        "events": [
            {
                "event_name": "test_drive",
                "identifiers": {"email_id": "jane@example.com"},
                "contact_properties": {"FIRSTNAME": "Jane"},
                "object": {"type": "vehicle", "identifiers": {"ext_id": "car-1"}},
            },
            {
                "event_name": "order_created",
                "identifiers": {"email_id": "jane@example.com", "phone_id": "+33612345678"},
                "event_properties": {"amount": 420},
            },
        ]
    },
    ("post", "/crm/v3/objects/{objectType}/batch/upsert"): {
        "inputs": [{"idProperty": "vin", "id": "1HGCM82633A004352", "properties": {"year": "2021"}}]
    },
    ("post", "/mainbrainer/contacts/batch"): {
        "createUpdateContacts": [
            {
                "email": "jane@example.com",
                "emailOptIn": True,
                "propertyFields": [{"propertyName": "AGE", "propertyValue": "38"}],
            },
            {"mobileCountryCode": 44, "mobileNumber": 7700900123},
        ]
    },
    ("post", "/v3/contacts/import"): {
        "fileBody": "EMAIL;FIRSTNAME;AGE\njane@example.com;Jane;38\njim@example.com;Jim;41",
        "listIds": [2],
        "updateExistingContacts": True,
    },
    ("put", "/v1/schema"): {
        "object_types": {
            "vehicle": {
                "label": "Vehicle",
                "primary_attribute": "model",
                "attributes": {
                    "model": {"type": "text", "label": "Model"},
                    "year": {"type": "number"},
                    "vin": {"type": "text", "unique": True},
                },
                "associations": ["garage", "contact"],
            },
            "garage": {"primary_attribute": "name", "attributes": {"name": {"type": "text"}}},
        }
    },
}


def add(schema: dict[str, Any], renderer_of: Callable[[str], Renderer]) -> dict[str, Any]:
    """``schema`` with the examples added (in place)."""
    for path, item in schema.get("paths", {}).items():
        render = renderer_of(path)
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            _errors(op, render)
            if "202" in op["responses"]:
                names = {p.get("name", "").lower() for p in op.get("parameters", [])}
                if "idempotency-key" not in names:
                    op.setdefault("parameters", []).append(dict(IDEMPOTENCY_KEY))
            body = REQUESTS.get((method, path))
            content = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None and content is not None:
                content["example"] = body
    return schema


def _errors(op: dict[str, Any], render: Renderer) -> None:
    for status, response in op["responses"].items():
        error = ERRORS.get(int(status)) if status.isdigit() else None
        content = response.get("content", {}).get("application/json")
        if error is not None and content is not None:
            content["example"] = render(error)[1]
