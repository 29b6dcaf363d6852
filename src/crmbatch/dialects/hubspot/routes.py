"""HubSpot's CRM v3 routes: objects (batch and single), properties, schemas.

Writes are synchronous, as HubSpot's are: each request is accepted as a process and applied in
the same transaction by the engine (or, when an earlier batch of the same type is still queued,
waits for the worker to reach it), then answered with the results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from crmbatch.core import clock
from crmbatch.core.errors import CrmError, NotFound
from crmbatch.core.processes import service as processes
from crmbatch.core.records import service as records
from crmbatch.core.schema import service as schemas
from crmbatch.core.schema.model import AccountSchema, Attribute, ObjectType
from crmbatch.core.values import identifier_value
from crmbatch.dialects.common import (
    DB,
    CurrentAccount,
    FastJSON,
    json_body,
    parse,
    read_body,
    run_sync,
)
from crmbatch.dialects.hubspot import translate, wire
from crmbatch.worker import apply_now

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": wire.Error, "description": text}
    for code, text in {
        400: "VALIDATION_ERROR: the message names the input and property",
        401: "INVALID_AUTHENTICATION",
        404: "OBJECT_NOT_FOUND: no such object type, object or property",
        409: "CONFLICT: the name is taken",
        413: "Body over 1 MB",
        415: "The body is not sent as JSON",
    }.items()
}
BATCH_RESPONSES: dict[int | str, dict[str, Any]] = {
    207: {"model": wire.BatchResponse, "description": "Some inputs failed: errors, numErrors"}
}

router = APIRouter(prefix="/crm/v3", tags=["hubspot"], responses=ERRORS)
schemas_router = APIRouter(tags=["hubspot"], responses=ERRORS)

ObjectTypeParam = Annotated[
    str, Path(min_length=1, max_length=64, description="contacts, 2-<id>, p<account>_<name>, name")
]
Properties = Annotated[list[str] | None, Query(description="repeated or comma-separated")]
Archived = Annotated[str | None, Query(description="true or false (any case)")]


def _schema(db: Any, account_id: int) -> AccountSchema:
    with db.read() as conn:
        return schemas.load(conn, account_id)


def _invalid(message: str, **context: list[str]) -> CrmError:
    return CrmError(message, field="inputs", **context)


def _id_attribute(t: ObjectType, prop: str, message: str | None = None) -> Attribute:
    """The unique attribute an ``idProperty`` names, or HubSpot's 400 for a non-unique one."""
    attr = t.attributes.get(translate.attribute_key(t, prop))
    if attr is None or not attr.unique:
        raise _invalid(
            message
            or f"Unable to perform update/upsert by non-unique "
            f"{translate.object_type_id(t)} property {prop}"
        )
    return attr


def _check_size(n: int, limit: int = wire.MAX_INPUTS) -> None:
    if n == 0 or n > limit:
        raise _invalid(f"inputs must hold 1 to {limit} items (got {n})")


@dataclass
class Item:
    """One input of a batch write and what became of it."""

    trace: str | None
    label: str
    command: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    record_id: int | None = None
    status: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def fail(self, category: str, message: str, ids: list[str] | None = None) -> None:
        context: dict[str, list[str]] = {}
        if self.trace is not None:
            context["objectWriteTraceId"] = [self.trace]
        if ids:
            context["ids"] = ids
        self.error = {
            "status": "error",
            "category": category,
            "message": message,
            "context": context,
            "errors": [],
            "links": {},
        }


def _problems_text(label: str, problems: list[tuple[str, str]]) -> str:
    shown = "; ".join(f"{f}: {m}" if f else m for f, m in problems)
    return f"Property values were not valid for {label}: {shown}"


def _check(t: ObjectType, items: list[Item]) -> None:
    """Check every command on its own; an invalid one fails alone."""
    pending = [i for i in items if i.command is not None]
    checked = records.check_each(
        t, [i.command for i in pending if i.command], unknown_is_error=True
    )
    for item, (clean, problems) in zip(pending, checked, strict=True):
        if clean is None:
            item.command = None
            item.fail("VALIDATION_ERROR", _problems_text(item.label, problems))
        else:
            item.command = clean


def _apply(db: Any, account_id: int, t: ObjectType, items: list[Item]) -> None:
    """Run the items' commands through the engine as one process; record each outcome."""
    live = [i for i in items if i.command is not None]
    if not live:
        return
    commands = [i.command for i in live if i.command is not None]

    def accept(conn: Any) -> processes.Accepted:
        return records.accept_upsert(
            conn,
            account_id,
            t.name,
            commands,
            dialect="hubspot",
            allow_system=True,
            checked=True,
        )

    pid, results = apply_now(db, accept)
    if results is None:  # it waited for the worker
        with db.read() as conn:
            results = processes.full(conn, account_id, pid)["results"]
    for item, result in zip(live, results, strict=True):
        item.status = result["status"]
        if result["status"] == "failed":
            error = result["errors"][0]
            category = (
                "OBJECT_NOT_FOUND" if error["code"] == "record_not_found" else "VALIDATION_ERROR"
            )
            item.fail(category, f"{item.label}: {error['message']}")
        else:
            item.record_id = result["id"]


def _respond(
    db: Any,
    t: ObjectType,
    items: list[Item],
    *,
    started: str | None,
    ok_status: int,
    upsert: bool = False,
) -> Response:
    ids = [i.record_id for i in items if i.record_id is not None]
    with db.read() as conn:
        found = records.by_ids(conn, t, ids, archived=None)
    results = []
    for item in items:
        if item.record_id is None or item.record_id not in found:
            continue
        out = translate.object_out(t, found[item.record_id], wanted=item.extra.get("wanted"))
        if upsert:
            out["new"] = item.status == "created"
        if item.trace is not None:
            out["objectWriteTraceId"] = item.trace
        results.append(out)
    errors = [i.error for i in items if i.error is not None]
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "requestedAt": started,
        "startedAt": started,
        "completedAt": clock.iso(clock.now()),
        "links": {},
    }
    if errors:
        body.update(errors=errors, numErrors=len(errors))
    return JSONResponse(body, status_code=207 if errors else ok_status)


# ---- batch writes ---------------------------------------------------------------------------


@router.post(
    "/objects/{objectType}/batch/upsert",
    response_model=wire.BatchResponse,
    responses=BATCH_RESPONSES,
    summary="Create or update by a unique property (synchronous)",
    openapi_extra=json_body(wire.UpsertBatch),
)
async def batch_upsert(
    objectType: ObjectTypeParam,
    request: Request,
    db: DB,
    account: CurrentAccount,
    idProperty: Annotated[str | None, Query(max_length=255)] = None,
) -> Any:
    raw = await read_body(request)
    body = parse(raw, wire.UpsertBatch)
    _check_size(len(body.inputs))

    def work() -> Response:
        started = clock.iso(clock.now())
        schema = _schema(db, account.id)
        t = translate.resolve_type(schema, objectType)
        items: list[Item] = []
        seen: dict[str, str] = {}
        duplicates: list[str] = []
        for n, inp in enumerate(body.inputs):
            prop = inp.idProperty or idProperty
            if not prop:
                raise _invalid(f"inputs[{n}].idProperty is required for upsert")
            attr = _id_attribute(t, prop)
            key = attr.key
            value = translate.value_in(attr, inp.id)
            norm = identifier_value(value)
            if norm in seen:
                duplicates.append(inp.id)
            seen[norm] = inp.id
            attrs = translate.properties_in(t, inp.properties)
            attrs[key] = value
            item = Item(inp.objectWriteTraceId, f"inputs[{n}] ({prop}={inp.id})")
            item.command = {"attributes": attrs}
            item.extra = {"key": key, "wanted": [*inp.properties, prop]}
            items.append(item)
        if duplicates:
            raise _invalid(
                f"Duplicate IDs found in batch input: {duplicates}. IDs must be unique",
                ids=duplicates,
            )
        _check(t, items)
        for item in items:
            if item.command is not None:
                key = item.extra["key"]
                item.command["match"] = [key, item.command["attributes"][key]]
        _apply(db, account.id, t, items)
        return _respond(db, t, items, started=started, ok_status=200, upsert=True)

    return await run_sync(work)


@router.post(
    "/objects/{objectType}/batch/create",
    status_code=201,
    response_model=wire.BatchResponse,
    responses=BATCH_RESPONSES,
    summary="Create objects (synchronous)",
    openapi_extra=json_body(wire.CreateBatch),
)
async def batch_create(
    objectType: ObjectTypeParam,
    request: Request,
    db: DB,
    account: CurrentAccount,
) -> Any:
    body = parse(await read_body(request), wire.CreateBatch)
    _check_size(len(body.inputs))

    def work() -> Response:
        started = clock.iso(clock.now())
        t = translate.resolve_type(_schema(db, account.id), objectType)
        items = []
        for n, inp in enumerate(body.inputs):
            item = Item(inp.objectWriteTraceId, f"inputs[{n}]")
            item.command = {"attributes": translate.properties_in(t, inp.properties)}
            item.extra = {"wanted": list(inp.properties)}
            items.append(item)
        _check(t, items)
        _apply(db, account.id, t, items)
        return _respond(db, t, items, started=started, ok_status=201)

    return await run_sync(work)


def _update_items(
    db: Any, t: ObjectType, inputs: list[wire.UpdateInput], id_property: str | None
) -> list[Item]:
    """Update inputs as commands on internal ids: a unique property's values are looked up
    first, and what is not found fails as HubSpot's OBJECT_NOT_FOUND."""
    items = []
    by_value: dict[str, list[Item]] = {}
    for n, inp in enumerate(inputs):
        prop = inp.idProperty or id_property
        item = Item(inp.objectWriteTraceId, f"inputs[{n}] (id {inp.id})")
        item.command = {"attributes": translate.properties_in(t, inp.properties)}
        item.extra = {"wanted": list(inp.properties)}
        items.append(item)
        if prop and prop != "hs_object_id":
            attr = _id_attribute(t, prop)
            key = attr.key
            value = identifier_value(translate.value_in(attr, inp.id))
            by_value.setdefault(key, []).append(item)
            item.extra["lookup"] = (key, value, inp.id)
        elif inp.id.isdigit() and len(inp.id) <= 18:
            item.command["id"] = int(inp.id)
        else:
            item.command = None
            item.fail("OBJECT_NOT_FOUND", f"no {t.name} object has id {inp.id!r}", [inp.id])
    if by_value:
        with db.read() as conn:
            for key, group in by_value.items():
                found = records.lookup(conn, t, key, [i.extra["lookup"][1] for i in group])
                for item in group:
                    _, value, given = item.extra["lookup"]
                    if value in found and item.command is not None:
                        item.command["id"] = found[value]
                    else:
                        item.command = None
                        item.fail(
                            "OBJECT_NOT_FOUND", f"no {t.name} object has {key} {given!r}", [given]
                        )
    return items


@router.post(
    "/objects/{objectType}/batch/update",
    response_model=wire.BatchResponse,
    responses=BATCH_RESPONSES,
    summary="Update objects by id or unique property (synchronous)",
    openapi_extra=json_body(wire.UpdateBatch),
)
async def batch_update(
    objectType: ObjectTypeParam,
    request: Request,
    db: DB,
    account: CurrentAccount,
    idProperty: Annotated[str | None, Query(max_length=255)] = None,
) -> Any:
    body = parse(await read_body(request), wire.UpdateBatch)
    _check_size(len(body.inputs))

    def work() -> Response:
        started = clock.iso(clock.now())
        t = translate.resolve_type(_schema(db, account.id), objectType)
        items = _update_items(db, t, body.inputs, idProperty)
        _check(t, items)
        _apply(db, account.id, t, items)
        return _respond(db, t, items, started=started, ok_status=200)

    return await run_sync(work)


@router.post(
    "/objects/{objectType}/batch/archive",
    status_code=204,
    response_class=Response,
    summary="Archive objects (synchronous)",
    openapi_extra=json_body(wire.ArchiveBatch),
)
async def batch_archive(
    objectType: ObjectTypeParam,
    request: Request,
    db: DB,
    account: CurrentAccount,
) -> Response:
    body = parse(await read_body(request), wire.ArchiveBatch)
    _check_size(len(body.inputs))
    await run_sync(_archive, db, account.id, objectType, [i.id for i in body.inputs])
    return Response(status_code=204)


def _archive(db: Any, account_id: int, object_type: str, given: list[str]) -> None:
    t = translate.resolve_type(_schema(db, account_id), object_type)
    ids = [int(i) for i in given if i.isdigit() and len(i) <= 18]
    if ids:
        apply_now(
            db,
            lambda conn: records.accept_archive(
                conn, account_id, t.name, ids, dialect="hubspot", allow_system=True
            ),
        )


# ---- reads ----------------------------------------------------------------------------------


def _read(
    db: Any,
    t: ObjectType,
    given: list[str],
    *,
    id_property: str | None,
    archived: bool,
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """given id → record, and the ids not found."""
    with db.read() as conn:
        if id_property and id_property != "hs_object_id":
            attr = _id_attribute(
                t, id_property, f"{id_property!r} is not a unique property of {t.name}"
            )
            norm = {g: identifier_value(translate.value_in(attr, g)) for g in given}
            found = records.lookup(conn, t, attr.key, list(norm.values()))
            ids = {g: found[v] for g, v in norm.items() if v in found}
        else:
            ids = {g: int(g) for g in given if g.isdigit() and len(g) <= 18}
        rows = records.by_ids(conn, t, list(ids.values()), archived=archived)
    out = {g: rows[rid] for g, rid in ids.items() if rid in rows}
    return out, [g for g in given if g not in out]


def _with_history(db: Any, t: ObjectType, ids: list[int], names: list[str]) -> Any:
    keys = [translate.attribute_key(t, n) for n in names]
    with db.read() as conn:
        return records.history(conn, ids, keys)


@router.post(
    "/objects/{objectType}/batch/read",
    response_model=wire.BatchResponse,
    responses=BATCH_RESPONSES,
    summary="Read objects by id or unique property",
    openapi_extra=json_body(wire.ReadBatch),
)
async def batch_read(
    objectType: ObjectTypeParam,
    request: Request,
    db: DB,
    account: CurrentAccount,
    archived: Archived = None,
) -> Any:
    body = parse(await read_body(request), wire.ReadBatch)
    limit = wire.MAX_HISTORY_INPUTS if body.propertiesWithHistory else wire.MAX_INPUTS
    if body.propertiesWithHistory and len(body.inputs) > limit:
        raise _invalid(
            "The maximum number of inputs supported in a batch request for property histories "
            f"is {limit}. Please reduce the number of items and try again"
        )
    _check_size(len(body.inputs), limit)

    def work() -> Response:
        started = clock.iso(clock.now())
        t = translate.resolve_type(_schema(db, account.id), objectType)
        given = [i.id for i in body.inputs]
        found, missing = _read(
            db, t, given, id_property=body.idProperty, archived=translate.flag(archived)
        )
        history = (
            _with_history(db, t, [r["id"] for r in found.values()], body.propertiesWithHistory)
            if body.propertiesWithHistory
            else {}
        )
        seen: set[int] = set()
        results = []
        for g in given:
            record = found.get(g)
            if record is None or record["id"] in seen:
                continue
            seen.add(record["id"])
            results.append(
                translate.object_out(
                    t,
                    record,
                    wanted=body.properties,
                    history=history.get(record["id"]),
                    with_history=body.propertiesWithHistory,
                )
            )
        response: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "requestedAt": started,
            "startedAt": started,
            "completedAt": clock.iso(clock.now()),
            "links": {},
        }
        if missing:
            response["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": f"Could not get some {t.name.upper()} objects, they may be "
                    "deleted or not exist. Check that ids are valid.",
                    "context": {"ids": missing},
                    "errors": [],
                    "links": {},
                }
            ]
            response["numErrors"] = 1
        return FastJSON(response, status_code=207 if missing else 200)

    return await run_sync(work)


@router.get("/objects/{objectType}", response_model=wire.ObjectPage, summary="List objects")
def list_objects(
    objectType: ObjectTypeParam,
    request: Request,
    db: DB,
    account: CurrentAccount,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    after: Annotated[str | None, Query(max_length=20)] = None,
    properties: Properties = None,
    propertiesWithHistory: Properties = None,
    archived: Archived = None,
) -> Any:
    t = translate.resolve_type(_schema(db, account.id), objectType)
    start = int(after) if after and after.isdigit() and len(after) <= 18 else 0
    wanted = translate.names(properties) or None
    with_history = translate.names(propertiesWithHistory) or None
    with db.read() as conn:
        rows = records.after(
            conn, t, after_id=start, limit=limit + 1, archived=translate.flag(archived)
        )
    page = rows[:limit]
    history = _with_history(db, t, [r["id"] for r in page], with_history) if with_history else {}
    body: dict[str, Any] = {
        "results": [
            translate.object_out(
                t,
                r,
                wanted=wanted,
                history=history.get(r["id"]),
                with_history=with_history,
            )
            for r in page
        ]
    }
    if len(rows) > limit:
        last = str(page[-1]["id"])
        link = str(request.url.include_query_params(after=last))
        body["paging"] = {"next": {"after": last, "link": link}}
    return body


@router.get(
    "/objects/{objectType}/{objectId}", response_model=wire.SimplePublicObject, summary="One object"
)
def get_object(
    objectType: ObjectTypeParam,
    objectId: Annotated[str, Path(min_length=1, max_length=255)],
    db: DB,
    account: CurrentAccount,
    properties: Properties = None,
    propertiesWithHistory: Properties = None,
    archived: Archived = None,
    idProperty: Annotated[str | None, Query(max_length=255)] = None,
) -> Any:
    t = translate.resolve_type(_schema(db, account.id), objectType)
    found, _ = _read(db, t, [objectId], id_property=idProperty, archived=translate.flag(archived))
    if objectId not in found:
        raise NotFound(f"no {t.name} object has id {objectId!r}", field="objectId")
    record = found[objectId]
    with_history = translate.names(propertiesWithHistory) or None
    history = _with_history(db, t, [record["id"]], with_history) if with_history else {}
    return translate.object_out(
        t,
        record,
        wanted=translate.names(properties) or None,
        history=history.get(record["id"]),
        with_history=with_history,
    )


def _single(items: list[Item]) -> None:
    """A single-object write answers its one failure as an error, not a 207."""
    error = items[0].error
    if error is not None:
        if error["category"] == "OBJECT_NOT_FOUND":
            raise NotFound(error["message"], field="objectId")
        raise CrmError(error["message"], field="properties")


@router.post(
    "/objects/{objectType}",
    status_code=201,
    response_model=wire.SimplePublicObject,
    summary="Create one object",
    openapi_extra=json_body(wire.SingleCreate),
)
async def create_object(
    objectType: ObjectTypeParam,
    request: Request,
    db: DB,
    account: CurrentAccount,
) -> Any:
    body = parse(await read_body(request), wire.SingleCreate)

    def work() -> Any:
        t = translate.resolve_type(_schema(db, account.id), objectType)
        item = Item(None, "the object")
        item.command = {"attributes": translate.properties_in(t, body.properties)}
        _check(t, [item])
        _apply(db, account.id, t, [item])
        _single([item])
        with db.read() as conn:
            record = records.by_ids(conn, t, [item.record_id or 0], archived=None)
        return JSONResponse(
            translate.object_out(t, record[item.record_id or 0], wanted=list(body.properties)),
            status_code=201,
        )

    return await run_sync(work)


@router.patch(
    "/objects/{objectType}/{objectId}",
    response_model=wire.SimplePublicObject,
    summary="Update one object",
    openapi_extra=json_body(wire.SingleUpdate),
)
async def update_object(
    objectType: ObjectTypeParam,
    objectId: Annotated[str, Path(min_length=1, max_length=255)],
    request: Request,
    db: DB,
    account: CurrentAccount,
    idProperty: Annotated[str | None, Query(max_length=255)] = None,
) -> Any:
    body = parse(await read_body(request), wire.SingleUpdate)

    def work() -> Any:
        t = translate.resolve_type(_schema(db, account.id), objectType)
        inp = wire.UpdateInput(id=objectId, properties=body.properties)
        items = _update_items(db, t, [inp], idProperty)
        _check(t, items)
        _apply(db, account.id, t, items)
        _single(items)
        with db.read() as conn:
            record = records.by_ids(conn, t, [items[0].record_id or 0], archived=None)
        return translate.object_out(
            t, record[items[0].record_id or 0], wanted=list(body.properties)
        )

    return await run_sync(work)


@router.delete(
    "/objects/{objectType}/{objectId}",
    status_code=204,
    response_class=Response,
    summary="Archive one object",
)
async def archive_object(
    objectType: ObjectTypeParam,
    objectId: Annotated[str, Path(min_length=1, max_length=255)],
    db: DB,
    account: CurrentAccount,
) -> Response:
    await run_sync(_archive, db, account.id, objectType, [objectId])
    return Response(status_code=204)


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


def _property(db: Any, account_id: int, object_type: str, name: str) -> dict[str, Any]:
    t = translate.resolve_type(_schema(db, account_id), object_type)
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
async def create_property(
    objectType: ObjectTypeParam,
    request: Request,
    db: DB,
    account: CurrentAccount,
) -> Any:
    body = parse(await read_body(request), wire.PropertyCreate)

    def work() -> Any:
        t = translate.resolve_type(_schema(db, account.id), objectType)
        key = translate.new_attribute_key(t, body.name)
        spec = translate.attribute_spec(body.model_dump())
        with db.write() as conn:
            schemas.add_attribute(conn, account.id, t.name, key, spec)
        return JSONResponse(_property(db, account.id, objectType, key), status_code=201)

    return await run_sync(work)


@router.get(
    "/properties/{objectType}/{propertyName}", response_model=wire.Property, summary="A property"
)
def get_property(
    objectType: ObjectTypeParam,
    propertyName: Annotated[str, Path(min_length=1, max_length=255)],
    db: DB,
    account: CurrentAccount,
) -> Any:
    return _property(db, account.id, objectType, propertyName)


@router.patch(
    "/properties/{objectType}/{propertyName}",
    response_model=wire.Property,
    summary="Change a property's label, type or options",
    openapi_extra=json_body(wire.PropertyUpdate),
)
async def update_property(
    objectType: ObjectTypeParam,
    propertyName: Annotated[str, Path(min_length=1, max_length=255)],
    request: Request,
    db: DB,
    account: CurrentAccount,
) -> Any:
    body = parse(await read_body(request), wire.PropertyUpdate)

    def work() -> Any:
        t = translate.resolve_type(_schema(db, account.id), objectType)
        key = translate.attribute_key(t, propertyName)
        current = t.attributes.get(key)
        if current is None:
            raise NotFound(f"Property {propertyName} does not exist", field="propertyName")
        if current.builtin:
            raise CrmError(f"{propertyName} is built in and cannot be changed", field="name")
        changes: dict[str, Any] = {}
        if body.label is not None:
            changes["label"] = body.label
        if body.type is not None:
            changes.update(
                translate.attribute_spec(
                    {
                        "name": key,
                        "label": body.label or current.label,
                        "type": body.type,
                        "fieldType": body.fieldType,
                        "options": [o.model_dump() for o in body.options or []],
                        "hasUniqueValue": current.unique,
                    }
                )
            )
        elif body.options is not None:
            changes["options"] = [
                {"key": o.value, "label": o.label or o.value} for o in body.options
            ]
        with db.write() as conn:
            schemas.change_attribute(conn, account.id, t.name, key, changes)
        return _property(db, account.id, objectType, key)

    return await run_sync(work)


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


async def _create_schema(request: Request, db: DB, account: CurrentAccount) -> Any:
    body = parse(await read_body(request), wire.ObjectSchemaEgg)

    def work() -> Any:
        schema = _schema(db, account.id)
        name = body.name.lower()
        attributes = {p.name: translate.attribute_spec(p.model_dump()) for p in body.properties}
        primary = body.primaryDisplayProperty or next(iter(body.requiredProperties), None)
        if primary is None:
            primary = next((k for k, a in attributes.items() if a["type"] == "text"), None)
        spec = {
            "label": body.labels.singular or name,
            "primary_attribute": primary,
            "attributes": attributes,
            "associations": [_associated_name(schema, a) for a in body.associatedObjects],
        }
        with db.write() as conn:
            schemas.create_type(conn, account.id, name, spec)
        schema = _schema(db, account.id)
        return JSONResponse(_schema_out(schema, schema.types[name]), status_code=201)

    return await run_sync(work)


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
