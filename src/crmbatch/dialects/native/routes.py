"""Native routes: /healthz, /metrics, /v1/schema, /v1/processes/{id}, /v1/contacts/{id},
/v1/lists."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
import yaml
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from crmbatch import metrics
from crmbatch.core import clock
from crmbatch.core.contacts import service as contacts
from crmbatch.core.errors import CrmError
from crmbatch.core.lists import service as lists
from crmbatch.core.processes import service as processes
from crmbatch.core.schema import service as schemas
from crmbatch.core.webhooks import service as webhooks
from crmbatch.dialects.common import (
    DB,
    MAX_INT64,
    CurrentAccount,
    FastJSON,
    json_body,
    parse,
    read_body,
)
from crmbatch.dialects.native import wire

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": wire.Error, "description": "Invalid document"},
    401: {"model": wire.Error, "description": "Missing or unknown key"},
    404: {"model": wire.Error, "description": "Not found in this account"},
    409: {"model": wire.Error, "description": "Conflict"},
    413: {"model": wire.Error, "description": "Body over the limit"},
    415: {"model": wire.Error, "description": "The body is not JSON (or YAML for the schema)"},
}

#: a schema document may be sent as JSON or as YAML
SCHEMA_TYPES = ("application/json", "application/yaml", "application/x-yaml", "text/yaml")

router = APIRouter(tags=["native"])
v1 = APIRouter(prefix="/v1", tags=["native"], responses=ERRORS)


PUBLIC: dict[str, Any] = {"security": []}  # OpenAPI: no key needed


@router.get(
    "/healthz",
    response_model=wire.Health,
    responses={503: {"model": wire.Health}},
    openapi_extra=PUBLIC,
)
def healthz(request: Request, db: DB) -> Any:
    from crmbatch.core.health import database_answers

    background = request.app.state.background
    body: dict[str, Any] = {"status": "ok"}
    if background is not None:
        body["processes"] = background.status()
    if database_answers(db) and (background is None or background.healthy()):
        return body
    return JSONResponse({**body, "status": "unavailable"}, status_code=503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
        404: {"model": wire.Error, "description": "Metrics are turned off"},
    },
    openapi_extra=PUBLIC,
)
def prometheus(request: Request, db: DB) -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST

    from crmbatch.core.health import queue_depth

    if not request.app.state.settings.metrics_enabled:
        return JSONResponse({"code": "not_found", "message": "metrics are off"}, status_code=404)
    depth = queue_depth(db)
    for status in ("queued", "in_process"):
        metrics.QUEUE_DEPTH.labels(status).set(depth.get(status, 0))
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


@v1.get("/schema", response_model=wire.SchemaDocument, summary="The account's schema document")
def get_schema(db: DB, account: CurrentAccount) -> Any:
    with db.read() as conn:
        return schemas.export(conn, account.id)


@v1.put(
    "/schema",
    response_model=wire.SchemaDocument,
    summary="Make the account's schema equal to this document (JSON or YAML)",
    openapi_extra=json_body(wire.SchemaDocument),
)
async def put_schema(request: Request, db: DB, account: CurrentAccount) -> Any:
    raw = await read_body(request, accepted=SCHEMA_TYPES)
    allow = request.query_params.get("allow_destructive", "false").lower() == "true"
    try:
        doc = (
            yaml.safe_load(raw)
            if "yaml" in request.headers.get("content-type", "")
            else orjson.loads(raw)
        )
    except (orjson.JSONDecodeError, yaml.YAMLError) as e:
        raise CrmError(f"the schema document is not valid JSON or YAML: {e}") from None

    def apply() -> Any:
        with db.write() as conn:
            changes = schemas.apply(conn, account.id, doc, allow_destructive=allow)
            return changes, schemas.export(conn, account.id)

    changes, exported = await run_in_threadpool(apply)
    return JSONResponse(exported, headers={"X-Crmbatch-Schema-Changes": str(len(changes))})


@v1.get(
    "/processes/{process_id}",
    response_model=None,
    responses={200: {"model": wire.ProcessFull}},
    summary="A process in full",
)
def get_process(
    process_id: Annotated[int, Path(ge=1, le=MAX_INT64)],
    db: DB,
    account: CurrentAccount,
    results: Annotated[
        Literal["all", "failed", "none"],
        Query(description="which per-record results: all, failed (failed or skipped), none"),
    ] = "all",
) -> Any:
    with db.read() as conn:
        if results == "all":  # the stored results as they are: no object per result
            hooks = webhooks.of_process(conn, process_id)
            body = processes.full_json(conn, account.id, process_id, webhooks=hooks)
            return Response(body, media_type="application/json")
        process = processes.full(conn, account.id, process_id, results=results)
        process["webhooks"] = webhooks.of_process(conn, process_id)
    return FastJSON(process)


@v1.get(
    "/contacts/{contact_id}",
    response_model=wire.Contact,
    summary="A contact with its identifiers, attributes, lists and latest events",
)
def get_contact(
    contact_id: Annotated[int, Path(ge=1, le=MAX_INT64)], db: DB, account: CurrentAccount
) -> Any:
    with db.read() as conn:
        c = contacts.get(conn, account.id, "id", contact_id, recent_events=10)
    return {
        "id": c["id"],
        "ext_id": c["ext_id"],
        "identifiers": c["channels"],
        "opt_ins": c["opt_ins"],
        "attributes": c["attributes"],
        "list_ids": c["list_ids"],
        "created_at": c["created_at"],
        "updated_at": c["updated_at"],
        "events": [
            {
                "id": e["id"],
                "name": e["name"],
                "event_date": clock.iso(e["event_date"]),
                "properties": e["properties"] or {},
                "object_type": e["object_type"],
                "object_id": e["object_record_id"],
            }
            for e in c["events"]
        ],
    }


@v1.post(
    "/lists",
    status_code=201,
    response_model=wire.ContactList,
    summary="Create a contact list",
    openapi_extra=json_body(wire.ListIn),
)
async def create_list(request: Request, db: DB, account: CurrentAccount) -> Any:
    body = parse(await read_body(request), wire.ListIn)

    def create() -> Any:
        with db.write() as conn:
            return lists.create(conn, account.id, body.name)

    return JSONResponse(await run_in_threadpool(create), status_code=201)


@v1.get("/lists", response_model=wire.ContactLists, summary="The account's contact lists")
def get_lists(db: DB, account: CurrentAccount) -> Any:
    with db.read() as conn:
        return {"lists": lists.all_of(conn, account.id)}


@v1.get("/lists/{list_id}", response_model=wire.ContactList, summary="A list and its size")
def get_list(
    list_id: Annotated[str, Path(min_length=1, max_length=64)], db: DB, account: CurrentAccount
) -> Any:
    with db.read() as conn:
        return lists.get(conn, account.id, list_id)
