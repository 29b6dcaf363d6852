"""Brevo's routes under /v3. Each parses, calls one core function, and answers."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field

from crmbatch.core.errors import CrmError, OutOfRange
from crmbatch.core.events import service as events
from crmbatch.core.processes import service as processes
from crmbatch.core.records import service as records
from crmbatch.core.webhooks import targets
from crmbatch.dialects.brevo import translate, wire
from crmbatch.dialects.common import (
    DB,
    DRY_RUN,
    MAX_INT64,
    CurrentAccount,
    DryRun,
    FastJSON,
    RawBody,
    accept,
    accepted_answer,
    dry_run_answer,
    json_body,
    load_json,
    parse,
    prepare,
)

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": wire.ErrorModel, "description": text}
    for code, text in {
        400: "Bad request: the message names the field",
        401: "Missing or unknown api-key",
        403: "A system object type: this endpoint takes custom objects only",
        404: "No such object type, record or process in this account",
        409: "Idempotency-Key reused with a different body",
        413: "Body over the limit",
        415: "The body is not sent as JSON",
        424: "The object type has no primary attribute",
        # 207 and 400 of /events/batch have their own bodies, declared on the route
    }.items()
}

#: an object type's name, as a path parameter
ObjectType = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,31}$", description="e.g. vehicle")]

#: pages beyond this would put the offset past what the database can count
MAX_PAGE = 10**12

router = APIRouter(prefix="/v3", tags=["brevo"], responses=ERRORS)


#: Brevo's imports take a ``notifyUrl``; crmbatch's batches take it as a query parameter
NotifyUrl = Annotated[
    str | None,
    Query(
        max_length=2048,
        description="POSTed the process in full, signed, once it is applied (see the README)",
    ),
]


def _notify(request: Request, url: str | None) -> str | None:
    """A webhook target the worker may call, or a 400 saying why not (a DNS lookup: done
    before any write)."""
    if url is not None:
        allow = request.app.state.settings.webhook_allow_private
        targets.check(url, allow_private=allow, field="notify_url")
    return url


@router.post(
    "/objects/{object_type}/batch/upsert",
    status_code=202,
    response_model=wire.BatchAccepted,
    responses=DRY_RUN,
    summary="Create or update object records in bulk (asynchronous)",
    openapi_extra=json_body(wire.UpsertRequest),
)
def upsert_records(
    object_type: ObjectType,
    request: Request,
    db: DB,
    account: CurrentAccount,
    raw: RawBody,
    notify_url: NotifyUrl = None,
    dry_run: DryRun = False,
) -> Any:
    commands = translate.fast_upsert_commands(load_json(raw))
    if commands is None:  # unusual or invalid: the wire model decides and explains
        commands = translate.upsert_commands(parse(raw, wire.UpsertRequest))
    submission = prepare(
        db, account.id, lambda _, schema: records.upsert_submission(schema, object_type, commands)
    )
    if dry_run:
        return dry_run_answer(db, account.id, submission)
    target = _notify(request, notify_url)
    accepted = accept(
        request, db, account.id, submission, dialect="brevo", raw=raw, notify_url=target
    )
    return accepted_answer(
        accepted,
        {"processId": accepted.process_id, "message": "Batch object records are being processed"},
    )


@router.post(
    "/objects/{object_type}/batch/delete",
    status_code=202,
    response_model=wire.BatchAccepted,
    responses=DRY_RUN,
    summary="Delete object records in bulk (asynchronous)",
    openapi_extra=json_body(wire.DeleteRequest),
)
def delete_records(
    object_type: ObjectType,
    request: Request,
    db: DB,
    account: CurrentAccount,
    raw: RawBody,
    notify_url: NotifyUrl = None,
    dry_run: DryRun = False,
) -> Any:
    body = parse(raw, wire.DeleteRequest)
    submission = prepare(
        db,
        account.id,
        lambda _, schema: records.delete_submission(
            schema, object_type, ids=body.identifiers.ids, ext_ids=body.identifiers.ext_ids
        ),
    )
    if dry_run:
        return dry_run_answer(db, account.id, submission)
    target = _notify(request, notify_url)
    accepted = accept(
        request, db, account.id, submission, dialect="brevo", raw=raw, notify_url=target
    )
    message = "Batch object records are being processed for deletion."
    return accepted_answer(accepted, {"processId": accepted.process_id, "message": message})


@router.get(
    "/objects/{object_type}/records",
    response_model=None,
    responses={200: {"model": wire.RecordsPage}},
    summary="List the records of an object type, with their total count",
)
def get_records(
    object_type: ObjectType,
    db: DB,
    account: CurrentAccount,
    limit: Annotated[int, Query(ge=0, le=1000, description="records per page (0: the count only)")],
    page_num: Annotated[int, Query(ge=1, le=MAX_PAGE, description="1-based page number")],
    sort: Annotated[Literal["asc", "desc"], Query(description="by id")] = "desc",
    association: Annotated[Literal["true", "false"], Query()] = "false",
) -> Any:
    with db.read() as conn:
        count, items = records.page(
            conn,
            account.id,
            object_type,
            limit=limit,
            page_num=page_num,
            descending=sort == "desc",
            with_associations=association == "true",
        )
    return FastJSON({"count": count, "records": [translate.record_out(i) for i in items]})


@router.get(
    "/objects/{object_type}/associated-records",
    response_model=wire.AssociatedPage,
    summary="Records linked to one record, 20 a page",
)
def get_associated_records(
    object_type: ObjectType,
    db: DB,
    account: CurrentAccount,
    id: Annotated[int | None, Query(ge=1, le=MAX_INT64)] = None,
    ext_id: Annotated[str | None, Query(min_length=1, max_length=255)] = None,
    email: Annotated[str | None, Query(min_length=1, max_length=255)] = None,
    sms: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    type: Annotated[list[str] | None, Query(max_length=5)] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_INT64)] = 0,
) -> Any:
    with db.read() as conn:
        has_more, items = records.associated(
            conn,
            account.id,
            object_type,
            id=id,
            ext_id=ext_id,
            email=email,
            sms=sms,
            types=type or [],
            offset=offset,
        )
    return {"has_more": has_more, "offset": offset, "items": items}


@router.get("/processes/{process_id}", response_model=wire.Process, summary="A process's status")
def get_process(
    process_id: Annotated[int, Path(ge=1, le=MAX_INT64)], db: DB, account: CurrentAccount
) -> Any:
    with db.read() as conn:
        return translate.process_out(processes.get(conn, account.id, process_id))


@router.get("/processes", response_model=wire.ProcessList, summary="The account's processes")
def get_processes(
    db: DB,
    account: CurrentAccount,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    offset: Annotated[int, Query(ge=0, le=MAX_INT64)] = 0,
    sort: Annotated[Literal["asc", "desc"], Query()] = "desc",
) -> Any:
    with db.read() as conn:
        count, rows = processes.page(
            conn, account.id, limit=limit, offset=offset, descending=sort == "desc"
        )
    return {"count": count, "processes": [translate.process_out(r) for r in rows]}


# ---- events and contacts -----------------------------------------------------------------

EVENTS_BODY_LIMIT = 512 * 1024
BATCH_MESSAGE = "Batch accepted. Valid events have been added to the processing queue."


def _check_events(db: Any, account_id: int, data: list[dict[str, Any]]) -> Any:
    return prepare(
        db,
        account_id,
        lambda _, schema: events.events_submission(
            schema, data, identity_fields=translate.IDENTITY_FIELDS
        ),
    )


@router.post(
    "/events",
    status_code=204,
    response_class=Response,
    responses=DRY_RUN,
    summary="Track one event of a contact (applied asynchronously)",
    openapi_extra=json_body(wire.Event),
)
def create_event(
    request: Request, db: DB, account: CurrentAccount, raw: RawBody, dry_run: DryRun = False
) -> Response:
    checked = _check_events(db, account.id, [translate.event_in(load_json(raw))])
    if dry_run:
        return dry_run_answer(db, account.id, checked.submission, refused=checked.refused)
    if checked.refused:
        raise CrmError(translate.problems_text(checked.refused[0][1]), field="event")
    accept(request, db, account.id, checked.submission, dialect="brevo", raw=raw)
    return Response(status_code=204)


@router.post(
    "/events/batch",
    status_code=202,
    response_model=wire.EventsBatchAccepted,
    responses={
        **DRY_RUN,
        207: {"model": wire.EventsBatchAccepted, "description": "Some events were refused"},
        400: {"model": wire.EventsBatchRejected | wire.ErrorModel, "description": "All refused"},
    },
    summary="Track up to 200 events (applied asynchronously)",
    openapi_extra=json_body(wire.EventsBatch),
)
def create_batch_events(
    request: Request,
    db: DB,
    account: CurrentAccount,
    raw: RawBody,
    notify_url: NotifyUrl = None,
    dry_run: DryRun = False,
) -> Any:
    if len(raw) > EVENTS_BODY_LIMIT:
        raise OutOfRange(
            f"the request body is over {EVENTS_BODY_LIMIT // 1024} KB; send fewer events",
            field="body",
        )
    checked = _check_events(db, account.id, translate.events_in(load_json(raw)))
    if dry_run:
        return dry_run_answer(db, account.id, checked.submission, refused=checked.refused)
    accepted = None
    if checked.submission is not None:
        target = _notify(request, notify_url)
        accepted = accept(
            request, db, account.id, checked.submission, dialect="brevo", raw=raw, notify_url=target
        )
    body: dict[str, Any] = {"message": BATCH_MESSAGE, "count": checked.count}
    if accepted is not None:
        body["processId"] = accepted.process_id
    if not checked.refused:
        return accepted_answer(accepted, body)
    report = {
        "status": "partial_success" if accepted else "failed",
        "total_events": checked.total,
        "successful_events": checked.count,
        "failed_events": len(checked.refused),
        "errors": translate.event_errors(checked.refused),
    }
    if accepted is None:
        return JSONResponse(report, status_code=400)
    return accepted_answer(accepted, {**body, **report}, status_code=207)


EventName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,255}$")]
TypeName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]


@router.get("/events", response_model=wire.EventsPage, summary="Events, newest first")
def get_events(
    db: DB,
    account: CurrentAccount,
    contact_id: Annotated[list[Annotated[int, Field(ge=1, le=MAX_INT64)]] | None, Query()] = None,
    event_name: Annotated[list[EventName] | None, Query()] = None,
    object_type: Annotated[list[TypeName] | None, Query()] = None,
    startDate: Annotated[str | None, Query(max_length=40)] = None,
    endDate: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=events.MAX_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_INT64)] = 0,
) -> Any:
    with db.read() as conn:
        count, items = events.page(
            conn,
            account.id,
            contact_ids=contact_id or [],
            names=event_name or [],
            object_types=object_type or [],
            start=startDate,
            end=endDate,
            limit=limit,
            offset=offset,
        )
    return FastJSON({"events": [translate.event_out(e) for e in items], "count": count})


ContactIdentifierType = Literal[
    "email_id", "contact_id", "ext_id", "phone_id", "whatsapp_id", "landline_number_id"
]
