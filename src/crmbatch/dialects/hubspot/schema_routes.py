"""HubSpot's CRM object schemas: each change is one transaction of the schema document, so
concurrent changes to an account's schema serialise and none is lost."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from fastapi.responses import JSONResponse

from crmbatch.core import clock
from crmbatch.core.errors import NotFound
from crmbatch.core.schema import service as schemas
from crmbatch.core.schema.model import AccountSchema, ObjectType
from crmbatch.dialects.common import DB, CurrentAccount, RawBody, json_body, parse
from crmbatch.dialects.hubspot import translate, wire
from crmbatch.dialects.hubspot.routes import ERRORS, _schema

schemas_router = APIRouter(tags=["hubspot schemas"], responses=ERRORS)


def _association_out(schema: AccountSchema, t: ObjectType, other: ObjectType) -> dict[str, Any]:
    pair = schema.pairs[frozenset((t.name, other.name))]
    at = clock.iso(pair.created_at)
    return {
        "id": str(pair.id),
        "fromObjectTypeId": translate.object_type_id(t),
        "toObjectTypeId": translate.object_type_id(other),
        "name": f"{t.name}_to_{other.name}",
        "createdAt": at,
        "updatedAt": at,
    }


def _names(t: ObjectType, keys: list[str]) -> list[str]:
    return [translate.property_name(t, t.attributes[k]) for k in keys if k in t.attributes]


def _schema_out(schema: AccountSchema, t: ObjectType) -> dict[str, Any]:
    primary = t.primary_attribute
    required = t.settings.get("required") or ([primary] if primary else [])
    out = {
        "id": str(t.id),
        "objectTypeId": translate.object_type_id(t),
        "fullyQualifiedName": translate.fully_qualified_name(schema.account_id, t),
        "name": t.name,
        "labels": {"singular": t.label, "plural": t.settings.get("plural") or t.label},
        "primaryDisplayProperty": primary,
        "secondaryDisplayProperties": _names(t, t.settings.get("secondary") or []),
        "requiredProperties": _names(t, required),
        "searchableProperties": _names(t, t.searchable),
        "properties": [
            translate.property_out(t, a, i) for i, a in enumerate(t.attributes.values())
        ],
        "associations": [
            _association_out(schema, t, schema.types[o]) for o in sorted(t.associations)
        ],
        "metaType": "PORTAL_SPECIFIC",
        "archived": False,
        "createdAt": clock.iso(t.created_at),
        "updatedAt": clock.iso(t.updated_at),
    }
    if t.settings.get("description"):
        out["description"] = t.settings["description"]
    return out


def _associated_name(schema: AccountSchema, given: str) -> str:
    return translate.resolve_type(schema, given).name  # CONTACT, COMPANY, 0-2, 2-7, …


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


def _keys(t: ObjectType, names: list[str]) -> list[str]:
    out = []
    for name in names:
        key = translate.attribute_key(t, name)
        if key not in t.attributes:
            raise NotFound(f"Property {name} does not exist on {t.name}", field="properties")
        out.append(key)
    return out


def _update_schema(objectType: str, db: DB, account: CurrentAccount, raw: RawBody) -> Any:
    body = parse(raw, wire.ObjectSchemaPatch)
    with db.write() as conn:
        t = translate.resolve_type(schemas.load(conn, account.id), objectType)
        settings = translate.type_settings(body)
        for setting in ("required", "searchable", "secondary"):
            if setting in settings:
                settings[setting] = _keys(t, settings[setting])

        def change(entry: dict[str, Any]) -> None:
            if body.labels is not None and body.labels.singular:
                entry["label"] = body.labels.singular
            if body.primaryDisplayProperty is not None:
                (entry["primary_attribute"],) = _keys(t, [body.primaryDisplayProperty])
            if body.clearDescription:
                entry.pop("description", None)
            entry.update(settings)

        schemas.edit_type(conn, account.id, t.name, change)
        schema = schemas.load(conn, account.id)
        return _schema_out(schema, schema.types[t.name])


def _delete_schema(objectType: str, db: DB, account: CurrentAccount) -> Response:
    with db.write() as conn:
        t = translate.resolve_type(schemas.load(conn, account.id), objectType)
        schemas.delete_type(conn, account.id, t.name)
    return Response(status_code=204)


def _batch_read(db: DB, account: CurrentAccount, raw: RawBody) -> Any:
    body = parse(raw, wire.SchemaBatchRead)
    schema = _schema(db, account.id)
    found: dict[str, ObjectType] = {}
    for given in body.inputs:
        try:
            t = translate.resolve_type(schema, given)
        except NotFound:
            continue  # HubSpot answers the ones it knows
        found.setdefault(t.name, t)
    return {"results": [_schema_out(schema, t) for t in found.values()]}


def _create_association(objectType: str, db: DB, account: CurrentAccount, raw: RawBody) -> Any:
    body = parse(raw, wire.AssociationDefinitionEgg)
    with db.write() as conn:
        schema = schemas.load(conn, account.id)
        translate.resolve_type(schema, objectType)
        a = _associated_name(schema, body.fromObjectTypeId)
        b = _associated_name(schema, body.toObjectTypeId)
        schemas.add_association(conn, account.id, a, b)
        schema = schemas.load(conn, account.id)
    out = _association_out(schema, schema.types[a], schema.types[b])
    if body.name:
        out["name"] = body.name
    return JSONResponse(out, status_code=201)


def _delete_association(
    objectType: str,
    associationIdentifier: Annotated[str, Path(min_length=1, max_length=64)],
    db: DB,
    account: CurrentAccount,
) -> Response:
    with db.write() as conn:
        schema = schemas.load(conn, account.id)
        t = translate.resolve_type(schema, objectType)
        for names, pair in schema.pairs.items():
            if str(pair.id) == associationIdentifier and t.name in names:
                (other,) = names - {t.name} or {t.name}
                schemas.remove_association(conn, account.id, t.name, other)
                return Response(status_code=204)
    raise NotFound(
        f"no association {associationIdentifier} is defined on {t.name}", field="associationId"
    )


for prefix in ("/crm-object-schemas/v3/schemas", "/crm/v3/schemas"):
    schemas_router.add_api_route(
        prefix + "/batch/read",
        _batch_read,
        methods=["POST"],
        response_model=wire.SchemaList,
        summary="Several custom object schemas",
        openapi_extra=json_body(wire.SchemaBatchRead),
    )
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
    schemas_router.add_api_route(
        prefix + "/{objectType}",
        _update_schema,
        methods=["PATCH"],
        response_model=wire.ObjectSchema,
        summary="Change a schema's labels, primary, required, searchable, secondary properties",
        openapi_extra=json_body(wire.ObjectSchemaPatch),
    )
    schemas_router.add_api_route(
        prefix + "/{objectType}",
        _delete_schema,
        methods=["DELETE"],
        status_code=204,
        response_class=Response,
        summary="Delete a custom object type that holds no live records",
    )
    schemas_router.add_api_route(
        prefix + "/{objectType}/associations",
        _create_association,
        methods=["POST"],
        status_code=201,
        response_model=wire.AssociationDefinition,
        summary="Define an association between two object types",
        openapi_extra=json_body(wire.AssociationDefinitionEgg),
    )
    schemas_router.add_api_route(
        prefix + "/{objectType}/associations/{associationIdentifier}",
        _delete_association,
        methods=["DELETE"],
        status_code=204,
        response_class=Response,
        summary="Remove an association definition no records are linked by",
    )
