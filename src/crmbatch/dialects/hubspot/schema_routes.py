"""HubSpot's CRM v3 properties and object schemas: each change is one transaction of the
schema document, so concurrent changes to an account's schema serialise and none is lost."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from crmbatch.core import clock
from crmbatch.core.errors import CrmError, NotFound
from crmbatch.core.schema import service as schemas
from crmbatch.core.schema.model import AccountSchema, ObjectType
from crmbatch.dialects.common import DB, CurrentAccount, RawBody, json_body, parse
from crmbatch.dialects.hubspot import translate, wire
from crmbatch.dialects.hubspot.routes import ERRORS, Archived, ObjectTypeParam, _schema

router = APIRouter(prefix="/crm/v3", tags=["hubspot"], responses=ERRORS)
schemas_router = APIRouter(tags=["hubspot"], responses=ERRORS)


# ---- properties -----------------------------------------------------------------------------


def _properties_of(t: ObjectType) -> list[dict[str, Any]]:
    return [translate.property_out(t, a, i) for i, a in enumerate(t.attributes.values())]


@router.get(
    "/properties/{objectType}", response_model=wire.PropertyList, summary="An object's properties"
)
def list_properties(
    objectType: ObjectTypeParam,
    db: DB,
    account: CurrentAccount,
    archived: Archived = None,
) -> Any:
    t = translate.resolve_type(_schema(db, account.id), objectType)
    return {"results": [] if translate.flag(archived) else _properties_of(t)}


def _property(schema: AccountSchema, object_type: str, name: str) -> dict[str, Any]:
    t = translate.resolve_type(schema, object_type)
    key = translate.attribute_key(t, name)
    if key not in t.attributes:
        raise NotFound(f"Property {name} does not exist", field="propertyName")
    position = list(t.attributes).index(key)
    return translate.property_out(t, t.attributes[key], position)


@router.post(
    "/properties/{objectType}",
    status_code=201,
    response_model=wire.Property,
    summary="Create a property (it lands in the schema document)",
    openapi_extra=json_body(wire.PropertyCreate),
)
def create_property(
    objectType: ObjectTypeParam, db: DB, account: CurrentAccount, raw: RawBody
) -> Any:
    body = parse(raw, wire.PropertyCreate)
    spec = translate.attribute_spec(body.model_dump())
    with db.write() as conn:  # one transaction: concurrent changes to a schema serialise
        t = translate.resolve_type(schemas.load(conn, account.id), objectType)
        key = translate.new_attribute_key(t, body.name)
        schemas.add_attribute(conn, account.id, t.name, key, spec)
        created = _property(schemas.load(conn, account.id), objectType, key)
    return JSONResponse(created, status_code=201)


@router.get(
    "/properties/{objectType}/{propertyName}", response_model=wire.Property, summary="A property"
)
def get_property(
    objectType: ObjectTypeParam,
    propertyName: Annotated[str, Path(min_length=1, max_length=255)],
    db: DB,
    account: CurrentAccount,
) -> Any:
    return _property(_schema(db, account.id), objectType, propertyName)


@router.patch(
    "/properties/{objectType}/{propertyName}",
    response_model=wire.Property,
    summary="Change a property's label, type or options",
    openapi_extra=json_body(wire.PropertyUpdate),
)
def update_property(
    objectType: ObjectTypeParam,
    propertyName: Annotated[str, Path(min_length=1, max_length=255)],
    db: DB,
    account: CurrentAccount,
    raw: RawBody,
) -> Any:
    body = parse(raw, wire.PropertyUpdate)
    with db.write() as conn:
        t = translate.resolve_type(schemas.load(conn, account.id), objectType)
        key = translate.attribute_key(t, propertyName)
        current = t.attributes.get(key)
        if current is None:
            raise NotFound(f"Property {propertyName} does not exist", field="propertyName")
        if current.builtin:
            raise CrmError(f"{propertyName} is built in and cannot be changed", field="name")
        changes = translate.property_changes(current, body)
        schemas.change_attribute(conn, account.id, t.name, key, changes)
        return _property(schemas.load(conn, account.id), objectType, key)


# ---- schemas --------------------------------------------------------------------------------


def _schema_out(schema: AccountSchema, t: ObjectType) -> dict[str, Any]:
    type_id = translate.object_type_id(t)
    associations = []
    for other_name in sorted(t.associations):
        other = schema.types[other_name]
        associations.append(
            {
                "id": f"{min(t.id, other.id)}{max(t.id, other.id)}",
                "fromObjectTypeId": type_id,
                "toObjectTypeId": translate.object_type_id(other),
                "name": f"{t.name}_to_{other.name}",
            }
        )
    primary = t.primary_attribute
    return {
        "id": str(t.id),
        "objectTypeId": type_id,
        "fullyQualifiedName": translate.fully_qualified_name(schema.account_id, t),
        "name": t.name,
        "labels": {"singular": t.label, "plural": t.label},
        "primaryDisplayProperty": primary,
        "secondaryDisplayProperties": [],
        "requiredProperties": [primary] if primary else [],
        "searchableProperties": [a.key for a in t.unique_attributes],
        "properties": _properties_of(t),
        "associations": associations,
        "metaType": "PORTAL_SPECIFIC",
        "archived": False,
        "createdAt": clock.iso(t.created_at),
        "updatedAt": clock.iso(t.updated_at),
    }


def _associated_name(schema: AccountSchema, given: str) -> str:
    if given.upper() == "CONTACT" or given.lower() in translate.CONTACTS:
        return "contact"
    return translate.resolve_type(schema, given).name


def _list_schemas(db: DB, account: CurrentAccount) -> Any:
    schema = _schema(db, account.id)
    custom = [t for t in schema.types.values() if not t.is_system]
    return {"results": [_schema_out(schema, t) for t in sorted(custom, key=lambda t: t.id)]}


def _get_schema(objectType: str, db: DB, account: CurrentAccount) -> Any:
    schema = _schema(db, account.id)
    return _schema_out(schema, translate.resolve_type(schema, objectType))


def _create_schema(db: DB, account: CurrentAccount, raw: RawBody) -> Any:
    body = parse(raw, wire.ObjectSchemaEgg)
    name = body.name.lower()
    with db.write() as conn:
        schema = schemas.load(conn, account.id)
        associated = [_associated_name(schema, a) for a in body.associatedObjects]
        schemas.create_type(conn, account.id, name, translate.type_spec(body, name, associated))
        schema = schemas.load(conn, account.id)
        return JSONResponse(_schema_out(schema, schema.types[name]), status_code=201)


for prefix in ("/crm-object-schemas/v3/schemas", "/crm/v3/schemas"):
    schemas_router.add_api_route(
        prefix,
        _list_schemas,
        methods=["GET"],
        response_model=wire.SchemaList,
        summary="Custom object schemas",
    )
    schemas_router.add_api_route(
        prefix,
        _create_schema,
        methods=["POST"],
        status_code=201,
        response_model=wire.ObjectSchema,
        summary="Create a custom object (it lands in the schema document)",
        openapi_extra=json_body(wire.ObjectSchemaEgg),
    )
    schemas_router.add_api_route(
        prefix + "/{objectType}",
        _get_schema,
        methods=["GET"],
        response_model=wire.ObjectSchema,
        summary="One custom object schema",
    )
