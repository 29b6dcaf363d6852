"""HubSpot's CRM v3 objects: batch and single writes, reads (properties and schemas are in
:mod:`crmbatch.dialects.hubspot.schema_routes`).

Writes are synchronous, as HubSpot's are: each request is accepted as a process and applied by
the engine in one transaction (:func:`crmbatch.dialects.common.write_now`), then answered with
the records as written. When an earlier batch of the same type is still queued, the request
waits for it without holding a thread, or answers 503 with nothing written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from crmbatch.core import clock
from crmbatch.core.errors import NotFound
from crmbatch.core.processes.service import Submission
from crmbatch.core.records import service as records
from crmbatch.core.results import Outcome
from crmbatch.core.schema import service as schemas
from crmbatch.core.schema.model import AccountSchema, ObjectType
from crmbatch.core.search import service as search
from crmbatch.db.engine import Database
from crmbatch.dialects.common import (
    DB,
    DRY_RUN,
    CurrentAccount,
    DryRun,
    FastJSON,
    RawBody,
    dry_run_answer,
    json_body,
    parse,
    prepare,
    write_now,
)
from crmbatch.dialects.hubspot import batches, translate, wire

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

ObjectTypeParam = Annotated[
    str, Path(min_length=1, max_length=64, description="contacts, 2-<id>, p<account>_<name>, name")
]
Properties = Annotated[list[str] | None, Query(description="repeated or comma-separated")]
Archived = Annotated[str | None, Query(description="true or false (any case)")]


def _schema(db: Any, account_id: int) -> AccountSchema:
    with db.read() as conn:
        return schemas.load(conn, account_id)


def _check_size(n: int, limit: int = wire.MAX_INPUTS) -> None:
    if n == 0 or n > limit:
        raise batches.invalid(f"inputs must hold 1 to {limit} items (got {n})")


Commands = Callable[[AccountSchema, ObjectType], tuple[list[dict[str, Any]], list[batches.Input]]]


@dataclass
class _Write:
    """A HubSpot write as the core takes it: the object type named in the path, and how its
    inputs become commands (against the schema of the very transaction that applies them)."""

    object_type: str
    commands: Commands
    described: list[batches.Input] | None = None

    def build(self, conn: Any, schema: AccountSchema) -> Submission:
        t = translate.resolve_type(schema, self.object_type)
        commands, self.described = self.commands(schema, t)
        return records.upsert_submission(
            schema, t.name, commands, allow_system=True, each_alone=True, collection="inputs"
        )


def _read_back(conn: Any, schema: AccountSchema, sub: Submission, outcome: Outcome) -> Any:
    """The records an answer shows, read in the transaction that wrote them."""
    ids = [r.id for r in outcome.results if r.applied and r.id is not None]
    return records.by_ids(conn, _written_type(schema, sub), ids, archived=None)


def _written_type(schema: AccountSchema, sub: Submission) -> ObjectType:
    return schema.types[str(sub.object_type)]


async def _batch(
    request: Request,
    db: Database,
    account_id: int,
    write: _Write,
    *,
    dry_run: bool,
    ok_status: int,
    upsert: bool = False,
) -> Response:
    """Apply a batch write now and answer it (200/201, or 207 when some inputs failed)."""
    if dry_run:
        return dry_run_answer(db, account_id, prepare(db, account_id, write.build))
    started = clock.iso(clock.now())
    done = await write_now(
        request, db, account_id, write.build, dialect="hubspot", read_back=_read_back
    )
    t = _written_type(done.schema, done.submission)
    body, partial = batches.batch_answer(
        t, done.outcome, write.described or [], done.read, started=started, upsert=upsert
    )
    return FastJSON(body, status_code=207 if partial else ok_status)


async def _single(
    request: Request,
    db: Database,
    account_id: int,
    write: _Write,
    *,
    dry_run: bool,
    ok_status: int = 200,
) -> Any:
    """Apply a single-object write now: the object, or its failure as an error."""
    if dry_run:
        return dry_run_answer(db, account_id, prepare(db, account_id, write.build))
    done = await write_now(
        request, db, account_id, write.build, dialect="hubspot", read_back=_read_back
    )
    (result,) = done.outcome.results
    (described,) = write.described or []
    if not result.applied or result.id is None:
        raise batches.single_failure(result, described)
    t = _written_type(done.schema, done.submission)
    answer = translate.object_out(t, done.read[result.id], wanted=described.wanted)
    return FastJSON(answer, status_code=ok_status)


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
    raw: RawBody,
    idProperty: Annotated[str | None, Query(max_length=255)] = None,
    dry_run: DryRun = False,
) -> Any:
    body = parse(raw, wire.UpsertBatch)
    _check_size(len(body.inputs))
    write = _Write(objectType, lambda _, t: batches.upsert_commands(t, body.inputs, idProperty))
    return await _batch(request, db, account.id, write, dry_run=dry_run, ok_status=200, upsert=True)


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
    raw: RawBody,
    dry_run: DryRun = False,
) -> Any:
    body = parse(raw, wire.CreateBatch)
    _check_size(len(body.inputs))
    write = _Write(objectType, lambda schema, t: batches.create_commands(schema, t, body.inputs))
    return await _batch(request, db, account.id, write, dry_run=dry_run, ok_status=201)


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
    raw: RawBody,
    idProperty: Annotated[str | None, Query(max_length=255)] = None,
    dry_run: DryRun = False,
) -> Any:
    body = parse(raw, wire.UpdateBatch)
    _check_size(len(body.inputs))
    write = _Write(objectType, lambda _, t: batches.update_commands(t, body.inputs, idProperty))
    return await _batch(request, db, account.id, write, dry_run=dry_run, ok_status=200)


def _archive_build(object_type: str, given: list[str]) -> Any:
    def build(conn: Any, schema: AccountSchema) -> Submission:
        t = translate.resolve_type(schema, object_type)
        return records.archive_submission(
            schema, t.name, batches.archive_ids(given), allow_system=True
        )

    return build


async def _archive(
    request: Request,
    db: Database,
    account_id: int,
    object_type: str,
    given: list[str],
    dry_run: bool,
) -> Response:
    build = _archive_build(object_type, given)
    if dry_run:
        return dry_run_answer(db, account_id, prepare(db, account_id, build))
    if batches.archive_ids(given):
        await write_now(request, db, account_id, build, dialect="hubspot")
    else:  # names no object: nothing to archive, but the type must exist
        translate.resolve_type(_schema(db, account_id), object_type)
    return Response(status_code=204)


@router.post(
    "/objects/{objectType}/batch/archive",
    status_code=204,
    response_class=Response,
    responses=DRY_RUN,
    summary="Archive objects (synchronous)",
    openapi_extra=json_body(wire.ArchiveBatch),
)
async def batch_archive(
    objectType: ObjectTypeParam,
    request: Request,
    db: DB,
    account: CurrentAccount,
    raw: RawBody,
    dry_run: DryRun = False,
) -> Response:
    body = parse(raw, wire.ArchiveBatch)
    _check_size(len(body.inputs))
    return await _archive(request, db, account.id, objectType, [i.id for i in body.inputs], dry_run)


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
            attr = batches.id_attribute(
                t, id_property, f"{id_property!r} is not a unique property of {t.name}"
            )
            ids = records.lookup(conn, t, attr.key, {g: translate.value_in(attr, g) for g in given})
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
def batch_read(
    objectType: ObjectTypeParam,
    db: DB,
    account: CurrentAccount,
    raw: RawBody,
    archived: Archived = None,
) -> Any:
    body = parse(raw, wire.ReadBatch)
    limit = wire.MAX_HISTORY_INPUTS if body.propertiesWithHistory else wire.MAX_INPUTS
    if body.propertiesWithHistory and len(body.inputs) > limit:
        raise batches.invalid(
            "The maximum number of inputs supported in a batch request for property histories "
            f"is {limit}. Please reduce the number of items and try again"
        )
    _check_size(len(body.inputs), limit)

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
    errors = []
    if missing:
        errors.append(
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": f"Could not get some {t.name.upper()} objects, they may be "
                "deleted or not exist. Check that ids are valid.",
                "context": {"ids": missing},
                "errors": [],
                "links": {},
            }
        )
    response = batches.batch_body(results, errors, started)
    return FastJSON(response, status_code=207 if missing else 200)


@router.post(
    "/objects/{objectType}/search",
    response_model=wire.SearchPage,
    summary="Search objects: OR of filter groups, a text query, one sort, 200 a page",
    openapi_extra=json_body(wire.SearchRequest),
)
def search_objects(
    objectType: ObjectTypeParam,
    request: Request,
    db: DB,
    account: CurrentAccount,
    raw: RawBody,
) -> Any:
    body = parse(raw, wire.SearchRequest)
    t = translate.resolve_type(_schema(db, account.id), objectType)
    query = translate.search_query(t, body)
    with db.read() as conn:
        total, rows = search.search(conn, t, query)
    answer: dict[str, Any] = {
        "total": total,
        "results": [translate.object_out(t, r, wanted=body.properties or None) for r in rows],
    }
    following = query.offset + len(rows)
    if rows and following < total:
        answer["paging"] = {"next": {"after": str(following), "link": f"?after={following}"}}
    return FastJSON(answer)


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
    associations: Properties = None,
    archived: Archived = None,
) -> Any:
    schema = _schema(db, account.id)
    t = translate.resolve_type(schema, objectType)
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
    _add_associations(db, schema, t, body["results"], associations)
    if len(rows) > limit:  # the last page has no paging at all, as HubSpot's
        last = str(page[-1]["id"])
        link = str(request.url.include_query_params(after=last))
        body["paging"] = {"next": {"after": last, "link": link}}
    return FastJSON(body)


def _add_associations(
    db: Any,
    schema: AccountSchema,
    t: ObjectType,
    objects: list[dict[str, Any]],
    asked: list[str] | None,
) -> None:
    """``associations=garage,contacts``: each object's linked records of those types."""
    wanted = translate.association_types(schema, t, translate.names(asked))
    if not wanted or not objects:
        return
    with db.read() as conn:
        linked = records.linked(conn, [int(o["id"]) for o in objects], list(wanted.values()))
    for o in objects:
        found = translate.associations_out(t, wanted, linked.get(int(o["id"]), {}))
        if found:
            o["associations"] = found


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
    associations: Properties = None,
    archived: Archived = None,
    idProperty: Annotated[str | None, Query(max_length=255)] = None,
) -> Any:
    schema = _schema(db, account.id)
    t = translate.resolve_type(schema, objectType)
    found, _ = _read(db, t, [objectId], id_property=idProperty, archived=translate.flag(archived))
    if objectId not in found:
        raise NotFound(f"no {t.name} object has id {objectId!r}", field="objectId")
    record = found[objectId]
    with_history = translate.names(propertiesWithHistory) or None
    history = _with_history(db, t, [record["id"]], with_history) if with_history else {}
    answer = translate.object_out(
        t,
        record,
        wanted=translate.names(properties) or None,
        history=history.get(record["id"]),
        with_history=with_history,
    )
    _add_associations(db, schema, t, [answer], associations)
    return FastJSON(answer)


@router.post(
    "/objects/{objectType}",
    status_code=201,
    response_model=wire.SimplePublicObject,
    responses=DRY_RUN,
    summary="Create one object",
    openapi_extra=json_body(wire.SingleCreate),
)
async def create_object(
    objectType: ObjectTypeParam,
    request: Request,
    db: DB,
    account: CurrentAccount,
    raw: RawBody,
    dry_run: DryRun = False,
) -> Any:
    body = parse(raw, wire.SingleCreate)
    inputs = [wire.CreateInput(properties=body.properties, associations=body.associations)]
    write = _Write(objectType, lambda schema, t: batches.create_commands(schema, t, inputs))
    return await _single(request, db, account.id, write, dry_run=dry_run, ok_status=201)


@router.patch(
    "/objects/{objectType}/{objectId}",
    response_model=wire.SimplePublicObject,
    responses=DRY_RUN,
    summary="Update one object",
    openapi_extra=json_body(wire.SingleUpdate),
)
async def update_object(
    objectType: ObjectTypeParam,
    objectId: Annotated[str, Path(min_length=1, max_length=255)],
    request: Request,
    db: DB,
    account: CurrentAccount,
    raw: RawBody,
    idProperty: Annotated[str | None, Query(max_length=255)] = None,
    dry_run: DryRun = False,
) -> Any:
    body = parse(raw, wire.SingleUpdate)
    inputs = [wire.UpdateInput(id=objectId, properties=body.properties)]
    write = _Write(objectType, lambda _, t: batches.update_commands(t, inputs, idProperty))
    return await _single(request, db, account.id, write, dry_run=dry_run)


@router.delete(
    "/objects/{objectType}/{objectId}",
    status_code=204,
    response_class=Response,
    responses=DRY_RUN,
    summary="Archive one object",
)
async def archive_object(
    objectType: ObjectTypeParam,
    objectId: Annotated[str, Path(min_length=1, max_length=255)],
    request: Request,
    db: DB,
    account: CurrentAccount,
    dry_run: DryRun = False,
) -> Response:
    return await _archive(request, db, account.id, objectType, [objectId], dry_run)
