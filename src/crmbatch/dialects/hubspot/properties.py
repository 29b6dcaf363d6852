"""HubSpot's CRM v3 properties and property groups. Each change is one transaction of the schema
document (:func:`crmbatch.core.schema.service.edit_type`), so concurrent changes to an account's
schema serialise and none is lost; batch changes apply all together or not at all."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from fastapi.responses import JSONResponse

from crmbatch.core import clock
from crmbatch.core.errors import Conflict, CrmError, NotFound
from crmbatch.core.schema import service as schemas
from crmbatch.core.schema.document import default_group
from crmbatch.core.schema.model import AccountSchema, ObjectType
from crmbatch.dialects.common import DB, CurrentAccount, RawBody, json_body, parse
from crmbatch.dialects.hubspot import batches, translate, wire
from crmbatch.dialects.hubspot.routes import ERRORS, Archived, ObjectTypeParam, _schema

router = APIRouter(prefix="/crm/v3", tags=["hubspot properties"], responses=ERRORS)
PropertyNameParam = Annotated[str, Path(min_length=1, max_length=255)]
GroupNameParam = Annotated[str, Path(min_length=1, max_length=100)]


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

        def add(entry: dict[str, Any]) -> None:
            attrs = entry.setdefault("attributes", {})
            if key in attrs or key in t.attributes:
                raise Conflict(f"a property named {body.name!r} already exists", field="name")
            attrs[key] = spec
            _declare_groups(entry, t, [spec])

        schemas.edit_type(conn, account.id, t.name, add)
        created = _property(schemas.load(conn, account.id), objectType, key)
    return JSONResponse(created, status_code=201)


def _declare_groups(entry: dict[str, Any], t: ObjectType, specs: list[dict[str, Any]]) -> None:
    """Property groups the properties name and the type lacks are made (labelled by name), as
    a HubSpot property names its group and need not create it first."""
    groups = dict(entry.get("groups") or {})
    for spec in specs:
        group = spec.get("group")
        if group and group != default_group(t.name) and group not in groups:
            groups[group] = group
    if groups:
        entry["groups"] = groups


@router.get(
    "/properties/{objectType}/{propertyName}", response_model=wire.Property, summary="A property"
)
def get_property(
    objectType: ObjectTypeParam,
    propertyName: PropertyNameParam,
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
    propertyName: PropertyNameParam,
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

        def change(entry: dict[str, Any]) -> None:
            attrs = entry.get("attributes") or {}
            attrs[key] = {**attrs[key], **changes}
            _declare_groups(entry, t, [changes])

        schemas.edit_type(conn, account.id, t.name, change)
        return _property(schemas.load(conn, account.id), objectType, key)


@router.delete(
    "/properties/{objectType}/{propertyName}",
    status_code=204,
    response_class=Response,
    summary="Archive a property (records keep their values out of sight)",
)
def archive_property(
    objectType: ObjectTypeParam, propertyName: PropertyNameParam, db: DB, account: CurrentAccount
) -> Response:
    with db.write() as conn:
        t = translate.resolve_type(schemas.load(conn, account.id), objectType)
        schemas.remove_attributes(conn, account.id, t.name, [_custom_key(t, propertyName)])
    return Response(status_code=204)


def _custom_key(t: ObjectType, name: str) -> str:
    key = translate.attribute_key(t, name)
    attr = t.attributes.get(key)
    if attr is None:
        raise NotFound(f"Property {name} does not exist", field="propertyName")
    if attr.builtin:
        raise CrmError(f"{name} is built in and cannot be archived", field="name")
    return key


def _check_inputs(n: int) -> None:
    if n == 0 or n > wire.MAX_INPUTS:
        raise batches.invalid(f"inputs must hold 1 to {wire.MAX_INPUTS} items (got {n})")


@router.post(
    "/properties/{objectType}/batch/archive",
    status_code=204,
    response_class=Response,
    summary="Archive properties, all or none",
    openapi_extra=json_body(wire.PropertyNames),
)
def batch_archive(
    objectType: ObjectTypeParam, db: DB, account: CurrentAccount, raw: RawBody
) -> Response:
    body = parse(raw, wire.PropertyNames)
    _check_inputs(len(body.inputs))
    with db.write() as conn:
        t = translate.resolve_type(schemas.load(conn, account.id), objectType)
        keys = list(dict.fromkeys(_custom_key(t, i.name) for i in body.inputs))
        schemas.remove_attributes(conn, account.id, t.name, keys)
    return Response(status_code=204)


def _error(category: str, message: str, **context: list[str]) -> dict[str, Any]:
    return {
        "status": "error",
        "category": category,
        "message": message,
        "context": context,
        "errors": [],
        "links": {},
    }


@router.post(
    "/properties/{objectType}/batch/create",
    status_code=201,
    response_model=wire.PropertyBatchResponse,
    summary="Create properties in one change (207: names already taken, the rest created)",
    openapi_extra=json_body(wire.PropertyCreateBatch),
)
def batch_create(objectType: ObjectTypeParam, db: DB, account: CurrentAccount, raw: RawBody) -> Any:
    body = parse(raw, wire.PropertyCreateBatch)
    _check_inputs(len(body.inputs))
    started = clock.iso(clock.now())
    errors: list[dict[str, Any]] = []
    with db.write() as conn:
        t = translate.resolve_type(schemas.load(conn, account.id), objectType)
        wanted: dict[str, dict[str, Any]] = {}
        for n, p in enumerate(body.inputs):
            key = translate.new_attribute_key(t, p.name)
            if key in t.attributes or key in wanted:
                errors.append(
                    _error(
                        "OBJECT_ALREADY_EXISTS",
                        f"inputs[{n}]: a property named {p.name!r} already exists",
                        name=[p.name],
                    )
                )
                continue
            wanted[key] = translate.attribute_spec(p.model_dump())

        def add(entry: dict[str, Any]) -> None:
            entry.setdefault("attributes", {}).update(wanted)
            _declare_groups(entry, t, list(wanted.values()))

        if wanted:
            schemas.edit_type(conn, account.id, t.name, add)
        schema = schemas.load(conn, account.id)
    results = [_property(schema, objectType, key) for key in wanted]
    answer = batches.batch_body(results, errors, started)
    return JSONResponse(answer, status_code=207 if errors else 201)


@router.post(
    "/properties/{objectType}/batch/read",
    response_model=wire.PropertyBatchResponse,
    summary="Read properties by name (207: names that do not exist)",
    openapi_extra=json_body(wire.PropertyReadBatch),
)
def batch_read(objectType: ObjectTypeParam, db: DB, account: CurrentAccount, raw: RawBody) -> Any:
    body = parse(raw, wire.PropertyReadBatch)
    _check_inputs(len(body.inputs))
    started = clock.iso(clock.now())
    schema = _schema(db, account.id)
    t = translate.resolve_type(schema, objectType)
    names = list(dict.fromkeys(i.name for i in body.inputs))
    found = (
        [] if body.archived else [n for n in names if translate.attribute_key(t, n) in t.attributes]
    )
    missing = [n for n in names if n not in found]
    results = [_property(schema, objectType, n) for n in found]
    errors = (
        [_error("OBJECT_NOT_FOUND", f"No such properties of {t.name}: {missing}", names=missing)]
        if missing
        else []
    )
    return JSONResponse(
        batches.batch_body(results, errors, started), status_code=207 if errors else 200
    )
