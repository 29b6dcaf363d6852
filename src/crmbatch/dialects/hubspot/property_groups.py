"""HubSpot's property groups: where a type's properties are shown. They live in the schema
document (a type's ``groups``, an attribute's ``group``); each change is one transaction of it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from fastapi.responses import JSONResponse

from crmbatch.core.errors import Conflict, CrmError, NotFound
from crmbatch.core.schema import service as schemas
from crmbatch.core.schema.document import default_group
from crmbatch.core.schema.model import ObjectType
from crmbatch.dialects.common import DB, CurrentAccount, RawBody, json_body, parse
from crmbatch.dialects.hubspot import translate, wire
from crmbatch.dialects.hubspot.routes import ERRORS, ObjectTypeParam, _schema

router = APIRouter(prefix="/crm/v3", tags=["hubspot properties"], responses=ERRORS)
GroupNameParam = Annotated[str, Path(min_length=1, max_length=100)]


def _group(t: ObjectType, name: str) -> dict[str, Any]:
    for group in translate.groups_out(t):
        if group["name"] == name:
            return group
    raise NotFound(f"Property group {name} does not exist on {t.name}", field="groupName")


@router.get(
    "/properties/{objectType}/groups",
    response_model=wire.PropertyGroups,
    summary="An object's property groups",
)
def list_groups(objectType: ObjectTypeParam, db: DB, account: CurrentAccount) -> Any:
    t = translate.resolve_type(_schema(db, account.id), objectType)
    return {"results": translate.groups_out(t)}


@router.get(
    "/properties/{objectType}/groups/{groupName}",
    response_model=wire.PropertyGroup,
    summary="A property group",
)
def get_group(
    objectType: ObjectTypeParam, groupName: GroupNameParam, db: DB, account: CurrentAccount
) -> Any:
    return _group(translate.resolve_type(_schema(db, account.id), objectType), groupName)


def _place(groups: dict[str, str], name: str, label: str, order: int | None) -> dict[str, str]:
    """The groups with ``name`` (re)labelled and, when an order is given, moved there."""
    items = [(g, v) for g, v in groups.items() if g != name]
    at = len(items) if order is None else max(0, min(order, len(items)))
    if order is None and name in groups:
        at = list(groups).index(name)
    items.insert(at, (name, label))
    return dict(items)


@router.post(
    "/properties/{objectType}/groups",
    status_code=201,
    response_model=wire.PropertyGroup,
    summary="Create a property group",
    openapi_extra=json_body(wire.PropertyGroupCreate),
)
def create_group(objectType: ObjectTypeParam, db: DB, account: CurrentAccount, raw: RawBody) -> Any:
    body = parse(raw, wire.PropertyGroupCreate)
    with db.write() as conn:
        t = translate.resolve_type(schemas.load(conn, account.id), objectType)

        def add(entry: dict[str, Any]) -> None:
            groups = entry.get("groups") or {}
            if body.name in groups or body.name == default_group(t.name):
                raise Conflict(f"a property group named {body.name!r} exists", field="name")
            entry["groups"] = _place(groups, body.name, body.label, body.displayOrder)

        schemas.edit_type(conn, account.id, t.name, add)
        created = _group(schemas.load(conn, account.id).types[t.name], body.name)
    return JSONResponse(created, status_code=201)


def _named_group(t: ObjectType, name: str) -> None:
    if name == default_group(t.name):
        raise CrmError(
            f"{name} is the default group of {t.name}; it cannot change", field="groupName"
        )
    _group(t, name)


@router.patch(
    "/properties/{objectType}/groups/{groupName}",
    response_model=wire.PropertyGroup,
    summary="Relabel or move a property group",
    openapi_extra=json_body(wire.PropertyGroupUpdate),
)
def update_group(
    objectType: ObjectTypeParam,
    groupName: GroupNameParam,
    db: DB,
    account: CurrentAccount,
    raw: RawBody,
) -> Any:
    body = parse(raw, wire.PropertyGroupUpdate)
    with db.write() as conn:
        t = translate.resolve_type(schemas.load(conn, account.id), objectType)
        _named_group(t, groupName)

        def change(entry: dict[str, Any]) -> None:
            groups = entry.get("groups") or {}
            label = body.label or groups[groupName]
            entry["groups"] = _place(groups, groupName, label, body.displayOrder)

        schemas.edit_type(conn, account.id, t.name, change)
        return _group(schemas.load(conn, account.id).types[t.name], groupName)


@router.delete(
    "/properties/{objectType}/groups/{groupName}",
    status_code=204,
    response_class=Response,
    summary="Delete a property group that holds no properties",
)
def delete_group(
    objectType: ObjectTypeParam, groupName: GroupNameParam, db: DB, account: CurrentAccount
) -> Response:
    with db.write() as conn:
        t = translate.resolve_type(schemas.load(conn, account.id), objectType)
        _named_group(t, groupName)
        held = [a.key for a in t.attributes.values() if translate.group_of(t, a) == groupName]
        if held:
            raise CrmError(
                f"property group {groupName} holds {held}; move them to another group first",
                field="groupName",
            )

        def drop(entry: dict[str, Any]) -> None:
            entry["groups"] = {
                g: v for g, v in (entry.get("groups") or {}).items() if g != groupName
            }

        schemas.edit_type(conn, account.id, t.name, drop)
    return Response(status_code=204)
