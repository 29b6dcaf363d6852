"""HubSpot wire ⇄ core: object types, property names and types, string values, errors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from crmbatch.core import clock
from crmbatch.core.errors import CrmError, NotFound
from crmbatch.core.schema.document import default_group
from crmbatch.core.schema.model import AccountSchema, Attribute, ObjectType
from crmbatch.core.search import service as search

#: core error kind → (HTTP status, HubSpot category)
CATEGORIES = {
    "invalid": (400, "VALIDATION_ERROR"),
    "missing": (400, "VALIDATION_ERROR"),
    "out_of_range": (400, "VALIDATION_ERROR"),
    "unsupported_media_type": (415, "VALIDATION_ERROR"),
    "too_large": (413, "VALIDATION_ERROR"),
    "unauthorized": (401, "INVALID_AUTHENTICATION"),
    "forbidden": (403, "MISSING_SCOPES"),
    "not_found": (404, "OBJECT_NOT_FOUND"),
    "conflict": (409, "CONFLICT"),
    "dependency": (400, "VALIDATION_ERROR"),
    "rate_limited": (429, "RATE_LIMIT"),
    "unavailable": (503, "SERVICE_UNAVAILABLE"),
    "internal": (500, "INTERNAL_ERROR"),
    "method_not_allowed": (405, "METHOD_NOT_ALLOWED"),
}

CONTACTS = ("contacts", "contact", "0-1")
#: HubSpot's standard objects: the system type each of its names and ids stands for
STANDARD_TYPES = {
    **dict.fromkeys(CONTACTS, "contact"),
    **dict.fromkeys(("companies", "company", "0-2"), "company"),
    **dict.fromkeys(("deals", "deal", "0-3"), "deal"),
}
#: the system types as HubSpot names them: (objectTypeId, fully qualified name)
STANDARD_IDS = {
    "contact": ("0-1", "contacts"),
    "company": ("0-2", "companies"),
    "deal": ("0-3", "deals"),
}
#: a contact's built-in channels under HubSpot's contact property names
CONTACT_NAMES = {
    "EMAIL": "email",
    "SMS": "mobilephone",
    "LANDLINE_NUMBER": "phone",
    "WHATSAPP": "hs_whatsapp_phone_number",
}
SYSTEM_PROPERTIES = ("hs_object_id", "createdate", "hs_lastmodifieddate", "lastmodifieddate")


def correlation_id() -> str:
    return str(uuid.uuid4())


def error(
    status_code: int,
    category: str,
    message: str,
    *,
    context: dict[str, list[str]] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> tuple[int, dict[str, Any]]:
    return status_code, {
        "status": "error",
        "message": message,
        "correlationId": correlation_id(),
        "category": category,
        "errors": errors or [],
        "context": context or {},
        "links": {},
    }


def rate_limit_headers(decision: Any) -> dict[str, str]:
    """HubSpot's ``X-HubSpot-RateLimit-*`` headers."""
    return {
        "X-HubSpot-RateLimit-Max": str(decision.limit),
        "X-HubSpot-RateLimit-Remaining": str(decision.remaining),
        "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(decision.interval * 1000)),
    }


def error_body(exc: CrmError) -> tuple[int, dict[str, Any]]:
    if exc.kind == "rate_limited":  # HubSpot's 429 has no category
        return 429, {
            "status": "error",
            "message": "You have reached your ten_secondly_rolling limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": correlation_id(),
            "policyName": "TEN_SECONDLY_ROLLING",
        }
    status, category = CATEGORIES.get(exc.kind, (exc.status, "VALIDATION_ERROR"))
    message = exc.message
    context = {
        k: [str(x) for x in v] for k, v in (exc.context or {}).items() if isinstance(v, list)
    }
    problems = getattr(exc, "problems", None) or []
    details = [
        {"message": m, "in": f, "code": "INVALID", "context": {"propertyName": [f]}}
        for f, m in problems
    ]
    return error(status, category, message, context=context, errors=details)


# ---- object types ---------------------------------------------------------------------------


def object_type_id(t: ObjectType) -> str:
    standard = STANDARD_IDS.get(t.name)
    return standard[0] if standard else f"2-{t.id}"


def fully_qualified_name(account_id: int, t: ObjectType) -> str:
    standard = STANDARD_IDS.get(t.name)
    return standard[1] if standard else f"p{account_id}_{t.name}"


def find_type(schema: AccountSchema, given: str) -> ObjectType | None:
    """``contacts``/``0-1``, ``companies``/``0-2``, ``deals``/``0-3`` (any case), ``2-<id>``,
    ``p<account>_<name>`` or a custom type's plain name."""
    name = given.lower()
    standard = STANDARD_TYPES.get(name)
    if standard is not None:
        return schema.types.get(standard)
    if name.startswith("2-") and name[2:].isdigit():
        t = schema.by_id(int(name[2:]))
        return t if t is not None and not t.is_system else None
    prefix = f"p{schema.account_id}_"
    if name.startswith(prefix):
        name = name[len(prefix) :]
    t = schema.types.get(name)
    return t if t is not None and not t.is_system else None


def resolve_type(schema: AccountSchema, given: str) -> ObjectType:
    """:func:`find_type`, or HubSpot's 404."""
    t = find_type(schema, given)
    if t is None:
        raise NotFound(f"Unable to infer object type from: {given}", field="objectType")
    return t


# ---- property names -------------------------------------------------------------------------


def property_name(t: ObjectType, a: Attribute) -> str:
    """How HubSpot names an attribute: contacts use HubSpot's lower-case names."""
    if t.name == "contact":
        return CONTACT_NAMES.get(a.key, a.key.lower())
    return a.key


def attribute_key(t: ObjectType, name: str) -> str:
    """The attribute a HubSpot property name means; an unknown name is returned as given (the
    engine then reports it)."""
    if name in t.attributes:
        return name
    if t.name == "contact":
        for a in t.attributes.values():
            if property_name(t, a) == name or a.key.lower() == name.lower():
                return a.key
    return name


def new_attribute_key(t: ObjectType, name: str) -> str:
    """The key of an attribute created through HubSpot: contacts follow Brevo's upper case."""
    return name.upper() if t.name == "contact" else name


# ---- property types -------------------------------------------------------------------------

#: crmbatch type → (HubSpot type, fieldType)
TYPES_OUT = {
    "text": ("string", "text"),
    "email": ("string", "text"),
    "phone": ("string", "phonenumber"),
    "number": ("number", "number"),
    "boolean": ("bool", "booleancheckbox"),
    "date": ("date", "date"),
    "datetime": ("datetime", "date"),
    "category": ("enumeration", "select"),
    "multiple_category": ("enumeration", "checkbox"),
}


def type_in(kind: str, field_type: str | None) -> str:
    """HubSpot (type, fieldType) → crmbatch type."""
    if kind == "string":
        return "phone" if field_type == "phonenumber" else "text"
    if kind == "enumeration":
        return "multiple_category" if field_type == "checkbox" else "category"
    mapped = {"number": "number", "bool": "boolean", "date": "date", "datetime": "datetime"}
    if kind not in mapped:
        raise CrmError(
            f"type {kind!r} is not one of string, number, date, datetime, enumeration, bool",
            field="type",
        )
    return mapped[kind]


def attribute_spec(body: dict[str, Any]) -> dict[str, Any]:
    """A schema-document attribute from a HubSpot property definition."""
    kind = type_in(body.get("type") or "", body.get("fieldType"))
    spec: dict[str, Any] = {"type": kind, "label": body.get("label") or body["name"]}
    if body.get("hasUniqueValue"):
        spec["unique"] = True
    if body.get("groupName"):
        spec["group"] = body["groupName"]
    if kind in ("category", "multiple_category"):
        spec["options"] = [
            {"key": o.get("value"), "label": o.get("label") or o.get("value")}
            for o in body.get("options") or []
        ]
    return spec


def property_changes(current: Attribute, body: Any) -> dict[str, Any]:
    """What a property update changes, as schema-document attribute fields."""
    changes: dict[str, Any] = {}
    if body.label is not None:
        changes["label"] = body.label
    if body.type is not None:
        changes.update(
            attribute_spec(
                {
                    "name": current.key,
                    "label": body.label or current.label,
                    "type": body.type,
                    "fieldType": body.fieldType,
                    "options": [o.model_dump() for o in body.options or []],
                    "hasUniqueValue": current.unique,
                }
            )
        )
    elif body.options is not None:
        changes["options"] = [{"key": o.value, "label": o.label or o.value} for o in body.options]
    if body.groupName is not None:
        changes["group"] = body.groupName
    return changes


def type_spec(body: Any, name: str, associations: list[str]) -> dict[str, Any]:
    """A schema-document object type from HubSpot's ``ObjectSchemaEgg``."""
    attributes = {p.name: attribute_spec(p.model_dump()) for p in body.properties}
    primary = body.primaryDisplayProperty or next(iter(body.requiredProperties), None)
    if primary is None:
        primary = next((k for k, a in attributes.items() if a["type"] == "text"), None)
    spec: dict[str, Any] = {
        "label": body.labels.singular or name,
        "primary_attribute": primary,
        "attributes": attributes,
        "associations": associations,
    }
    spec.update(type_settings(body))
    return spec


def type_settings(body: Any) -> dict[str, Any]:
    """The schema-document settings a schema create or update gives."""
    out: dict[str, Any] = {}
    if body.labels is not None and body.labels.plural:
        out["plural"] = body.labels.plural
    if body.description:
        out["description"] = body.description
    for setting, given in (
        ("required", body.requiredProperties or None),
        ("searchable", body.searchableProperties),
        ("secondary", body.secondaryDisplayProperties),
    ):
        if given is not None:
            out[setting] = list(given)
    return out


def group_of(t: ObjectType, a: Attribute) -> str:
    """The property group an attribute is shown in."""
    return (t.settings.get("attribute_groups") or {}).get(a.key) or default_group(t.name)


def groups_out(t: ObjectType) -> list[dict[str, Any]]:
    """The type's property groups: its default one first, then those it defines."""
    named = [(default_group(t.name), f"{t.label} information")]
    named += list((t.settings.get("groups") or {}).items())
    return [
        {"name": name, "label": label, "displayOrder": i - 1, "archived": False}
        for i, (name, label) in enumerate(named)
    ]


def property_out(t: ObjectType, a: Attribute, position: int = 0) -> dict[str, Any]:
    kind, field_type = TYPES_OUT.get(a.type, ("string", "text"))
    if a.type == "boolean":
        options = [
            {"label": "Yes", "value": "true", "displayOrder": 0, "hidden": False},
            {"label": "No", "value": "false", "displayOrder": 1, "hidden": False},
        ]
    else:
        options = [
            {"label": o.label, "value": o.key, "displayOrder": i, "hidden": False}
            for i, o in enumerate(a.options)
        ]
    return {
        "name": property_name(t, a),
        "label": a.label,
        "type": kind,
        "fieldType": field_type,
        "description": "",
        "groupName": group_of(t, a),
        "options": options,
        "displayOrder": position,
        "calculated": False,
        "externalOptions": False,
        "hasUniqueValue": a.unique,
        "hidden": False,
        "hubspotDefined": a.builtin,
        "archived": False,
        "formField": True,
        "modificationMetadata": {
            "archivable": not a.builtin,
            "readOnlyDefinition": a.builtin,
            "readOnlyValue": False,
        },
    }


# ---- values ---------------------------------------------------------------------------------


def _epoch_ms_to(value: str, kind: str) -> str:
    at = datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    return at.date().isoformat() if kind == "date" else clock.iso(at) or ""


def value_in(a: Attribute | None, value: Any) -> Any:
    """A HubSpot property value (usually a string) as the engine's value for ``a``; the engine
    judges the result. ``""`` clears."""
    if a is None or not isinstance(value, str):
        return value
    if value == "":
        return None
    kind = a.type
    if kind == "number":
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                return value
    if kind == "boolean":
        lowered = value.strip().lower()
        return {"true": True, "false": False}.get(lowered, value)
    if kind in ("date", "datetime") and value.isdigit() and len(value) <= 15:
        return _epoch_ms_to(value, kind)
    if kind == "multiple_category":
        return [v for v in value.split(";") if v]
    return value


def value_out(a: Attribute | None, value: Any) -> str | None:
    """An engine value as HubSpot sends it: always a string (or null)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if a is not None and a.type == "date" and isinstance(value, str):
        midnight = datetime.fromisoformat(value).replace(tzinfo=UTC)
        return str(int(midnight.timestamp() * 1000))
    return str(value)


def properties_in(t: ObjectType, props: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in props.items():
        key = attribute_key(t, name)
        out[key] = value_in(t.attributes.get(key), value)
    return out


def object_out(
    t: ObjectType,
    record: dict[str, Any],
    *,
    wanted: list[str] | None = None,
    history: dict[str, list[tuple[Any, Any]]] | None = None,
    with_history: list[str] | None = None,
) -> dict[str, Any]:
    """A record as HubSpot's ``SimplePublicObject``: the properties asked for (all the record's
    when none are), plus ``hs_object_id``, ``createdate`` and ``hs_lastmodifieddate``."""
    attrs = record["attributes"]
    created, updated = clock.iso(record["created_at"]), clock.iso(record["updated_at"])
    props: dict[str, Any] = {}
    # only properties the type defines: an archived property's values stay out of sight
    if wanted:
        for name in wanted:
            a = t.attributes.get(attribute_key(t, name))
            if a is not None:
                props[name] = value_out(a, attrs.get(a.key))
    else:
        for key, value in attrs.items():
            a = t.attributes.get(key)
            if a is not None:
                props[property_name(t, a)] = value_out(a, value)
    props.update(
        hs_object_id=str(record["id"]),
        createdate=created,
        hs_lastmodifieddate=updated,
        lastmodifieddate=updated,
    )
    out: dict[str, Any] = {
        "id": str(record["id"]),
        "properties": props,
        "createdAt": created,
        "updatedAt": updated,
        "archived": record["archived_at"] is not None,
    }
    if record["archived_at"] is not None:
        out["archivedAt"] = clock.iso(record["archived_at"])
    if with_history is not None:
        out["propertiesWithHistory"] = {
            name: [
                {
                    "value": value_out(t.attributes.get(attribute_key(t, name)), value) or "",
                    "timestamp": clock.iso(at),
                    "sourceType": "API",
                }
                for at, value in (history or {}).get(attribute_key(t, name), [])
            ]
            for name in with_history
        }
    return out


def association_types(schema: AccountSchema, t: ObjectType, asked: list[str]) -> dict[str, int]:
    """The types an ``associations=`` query names (as given → their type id); names of types
    not associated with ``t`` are passed over."""
    out: dict[str, int] = {}
    for given in asked:
        other = find_type(schema, given)
        if other is not None and other.name in t.associations:
            out[given] = other.id
    return out


def associations_out(
    t: ObjectType, wanted: dict[str, int], linked: dict[int, list[int]]
) -> dict[str, Any]:
    """HubSpot's ``associations`` of one object: per type asked, the linked ids."""
    out: dict[str, Any] = {}
    for given, type_id in wanted.items():
        ids = linked.get(type_id) or []
        if ids:
            kind = f"{t.name}_to_{given.lower()}"
            out[given] = {"results": [{"id": str(i), "type": kind} for i in ids]}
    return out


def names(values: list[str] | None) -> list[str]:
    """Repeated or comma-separated query values (HubSpot's paging links use commas)."""
    out: list[str] = []
    for v in values or []:
        out.extend(p for p in v.split(",") if p)
    return out


def flag(value: str | None) -> bool:
    """HubSpot's booleans in queries: the Python SDK sends ``True``/``False``."""
    return (value or "").strip().lower() == "true"


# ---- search ---------------------------------------------------------------------------------

#: HubSpot's names for what every record has besides its properties
COLUMN_NAMES = {
    "hs_object_id": "id",
    "createdate": "created_at",
    "hs_createdate": "created_at",
    "hs_lastmodifieddate": "updated_at",
    "lastmodifieddate": "updated_at",
}


def search_field(t: ObjectType, name: str) -> str:
    return COLUMN_NAMES.get(name.lower(), attribute_key(t, name))


def _column_value(field: str, value: Any) -> Any:
    if field == "id":
        return (
            int(value) if isinstance(value, str) and value.isdigit() and len(value) <= 18 else value
        )
    if isinstance(value, str) and value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    return value


def search_value(t: ObjectType, field: str, value: Any) -> Any:
    """A filter value as HubSpot sends it (text, epoch milliseconds) as the engine's."""
    if value is None:
        return None
    if field in ("id", "created_at", "updated_at"):
        return _column_value(field, value)
    attr = t.attributes.get(field)
    if attr is not None and attr.type == "multiple_category" and isinstance(value, str):
        return value  # one option, compared against the held options
    return value_in(attr, value if not isinstance(value, bool) else str(value).lower())


def sort_of(t: ObjectType, sorts: list[Any]) -> tuple[str, bool] | None:
    """HubSpot's ``sorts`` (one; ``"name"``, ``"-name"`` or ``{propertyName, direction}``)."""
    if not sorts:
        return None
    if len(sorts) > 1:
        raise CrmError("only one sort is supported", field="sorts")
    sort = sorts[0]
    if isinstance(sort, str):
        name, _, direction = sort.strip().partition(" ")
        descending = name.startswith("-") or direction.upper().startswith("DESC")
        return search_field(t, name.lstrip("-")), descending
    direction = (sort.direction or "ASCENDING").upper()
    if direction not in ("ASCENDING", "DESCENDING"):
        raise CrmError("a sort's direction is ASCENDING or DESCENDING", field="sorts")
    return search_field(t, sort.propertyName), direction == "DESCENDING"


def search_query(t: ObjectType, body: Any) -> search.Query:
    """HubSpot's ``PublicObjectSearchRequest`` as the core's query."""
    after = body.after
    if after is None or after == "":
        offset = 0
    elif isinstance(after, int) or (isinstance(after, str) and after.isdigit() and len(after) <= 9):
        offset = int(after)
    else:
        raise CrmError(
            f"after: expected the cursor of a previous page, got {after!r}", field="after"
        )
    groups = []
    for group in body.filterGroups:
        filters = []
        for f in group.filters:
            field = search_field(t, f.propertyName)
            filters.append(
                search.Filter(
                    field=field,
                    operator=f.operator.upper(),
                    value=search_value(t, field, f.value),
                    values=tuple(search_value(t, field, v) for v in f.values or ()),
                    high=search_value(t, field, f.highValue),
                )
            )
        groups.append(filters)
    return search.Query(
        groups, sort=sort_of(t, body.sorts), text=body.query, limit=body.limit, offset=offset
    )
