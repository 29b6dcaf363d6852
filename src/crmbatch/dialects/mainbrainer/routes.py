"""MainBrainer's routes under /mainbrainer: the contacts batch and its report."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from crmbatch.core.contacts import batch as contacts_batch
from crmbatch.core.errors import InvalidInput, NotAcceptable, Unprocessable
from crmbatch.core.webhooks import targets
from crmbatch.dialects.common import (
    DB,
    DRY_RUN,
    CurrentAccount,
    DryRun,
    RawBody,
    accept,
    accepted_answer,
    dry_run_answer,
    json_body,
    parse,
    prepare,
)
from crmbatch.dialects.mainbrainer import translate, wire

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": wire.Error, "description": text}
    for code, text in {
        400: "Malformed JSON, or over the limits (1 to 1000 contacts, 1 MB)",
        401: "Missing or unknown key",
        404: "No such batch in this account",
        406: "The body is not JSON, or the client accepts no JSON answer",
        409: "Idempotency-Key reused with a different body",
        422: "An unknown listId, a field of the wrong type, or a webHookUrl that cannot be called",
    }.items()
}

router = APIRouter(prefix="/mainbrainer", tags=["mainbrainer"], responses=ERRORS)


async def _accepts_json(request: Request) -> None:
    accept = request.headers.get("accept")
    if not accept:
        return
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media in ("*/*", "application/*", "application/json") or media.endswith("+json"):
            return
    raise NotAcceptable(
        f"the answer is JSON, and Accept: {accept!r} does not take it", field="Accept"
    )


AcceptsJson = Annotated[None, Depends(_accepts_json)]


@router.post(
    "/contacts/batch",
    status_code=202,
    response_model=wire.BatchAccepted,
    responses=DRY_RUN,
    summary="Create or update a batch of contacts (asynchronous; the report goes to webHookUrl)",
    openapi_extra=json_body(wire.ContactsBatchRequest),
)
def contacts_batch_upsert(
    request: Request,
    db: DB,
    account: CurrentAccount,
    _json: AcceptsJson,
    raw: RawBody,
    dry_run: DryRun = False,
) -> Any:
    try:
        body = parse(raw, wire.ContactsBatchRequest)
    except InvalidInput as e:
        raise Unprocessable(e.message, field=e.field) from None
    checked = prepare(
        db,
        account.id,
        lambda conn, schema: contacts_batch.contacts_submission(
            conn,
            schema,
            translate.contact_items(body),
            list_uuid=str(body.listId) if body.listId else None,
        ),
    )
    if dry_run:
        return dry_run_answer(db, account.id, checked.submission)
    if body.webHookUrl is not None:
        try:
            targets.check(
                body.webHookUrl,
                allow_private=request.app.state.settings.webhook_allow_private,
                field="webHookUrl",
            )
        except targets.UnsafeTarget as e:
            raise Unprocessable(e.message, field="webHookUrl") from None
    accepted = accept(
        request,
        db,
        account.id,
        checked.submission,
        dialect="mainbrainer",
        raw=raw,
        notify_url=body.webHookUrl,
    )
    return accepted_answer(accepted, translate.accepted(accepted, checked))


@router.get(
    "/contacts/batch/{batch_id}",
    response_model=wire.BatchReport,
    summary="What became of each contact of a batch (the webhook's body)",
)
def contacts_batch_report(
    batch_id: Annotated[str, Path(pattern=r"^[0-9]{1,18}$", description="the batchId")],
    db: DB,
    account: CurrentAccount,
) -> Any:
    with db.read() as conn:
        return translate.report(contacts_batch.report(conn, account.id, int(batch_id)))
