"""What every dialect's routes share: the database handle, authentication, bounded JSON bodies,
validation errors with field paths, and request bodies documented in OpenAPI."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import msgspec
from fastapi import Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from crmbatch import metrics
from crmbatch.core.accounts import service as accounts
from crmbatch.core.accounts.service import Account
from crmbatch.core.errors import (
    CrmError,
    InvalidInput,
    PayloadTooLarge,
    RateLimited,
    Unavailable,
    UnsupportedMediaType,
)
from crmbatch.core.processes import preview, sync
from crmbatch.core.processes import service as processes
from crmbatch.core.schema import service as schemas
from crmbatch.db import codec
from crmbatch.db.engine import Database
from crmbatch.dialects.native import wire as native_wire

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

#: the largest id or offset the databases store (64-bit signed)
MAX_INT64 = 2**63 - 1

#: models used as raw-parsed request bodies, added to the OpenAPI components by the app
BODY_MODELS: dict[str, type[BaseModel]] = {}
DEFAULT_BODY_LIMIT = 1024 * 1024


#: set on a 202 answering a repeated Idempotency-Key: an earlier request accepted the batch
REPLAYED_HEADER = "Idempotent-Replayed"


def replay_headers(accepted: Any) -> dict[str, str]:
    """``Idempotent-Replayed: true`` when ``accepted`` (a process) came from an earlier request."""
    return {REPLAYED_HEADER: "true"} if accepted is not None and accepted.replayed else {}


class FastJSON(Response):
    """JSON rendered by orjson, for large bodies served without response-model validation."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return codec.dumps(content)


async def get_db(request: Request) -> Database:
    """The database (async: FastAPI would hand a plain function to a thread for nothing)."""
    db: Database = request.app.state.db
    return db


DB = Annotated[Database, Depends(get_db)]


def api_key_of(request: Request) -> str | None:
    key = request.headers.get("api-key")
    if key:
        return key.strip()
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def current_account(request: Request, db: DB) -> Account:
    key = api_key_of(request)
    with db.read() as conn:
        account = accounts.authenticate(conn, key)
    request.state.account = account
    limiter = request.app.state.limiter
    if limiter is not None and key is not None:
        decision = limiter.take(key)
        request.state.rate_limit = decision  # every answer shows the dialect's headers
        if not decision.allowed:
            raise RateLimited(
                f"too many requests: this key may make {decision.limit} in "
                f"{decision.interval:g} s; retry in {math.ceil(decision.retry_after)} s",
                decision=decision,
            )
    return account


CurrentAccount = Annotated[Account, Depends(current_account)]


def json_body(model: type[BaseModel], *, description: str = "") -> dict[str, Any]:
    """``openapi_extra`` for a route that parses its body itself (fast path, exact errors)."""
    BODY_MODELS[model.__name__] = model
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
            },
        }
    }


def error_path(loc: tuple[Any, ...]) -> str:
    """``('records', 12, 'identifiers', 'id')`` → ``records[12].identifiers.id``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("body",) and not out:
            continue
        else:
            out += ("." if out else "") + str(part)
    return out


def _message(err: Any) -> str:
    kind = err.get("type", "")
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        loc = err.get("loc") or ()
        if loc and loc[-1] == "ids":
            return "unknown field; use id (singular), not ids"
        return "unknown field"
    msg = str(err.get("msg", "is invalid"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind.endswith("_type") or kind.endswith("_parsing"):
        got = shown(err.get("input"))
        return f"{msg[0].lower()}{msg[1:]}" + (f", got {got}" if got else "")
    return msg[0].lower() + msg[1:]


def validation_problems(exc: ValidationError | Any) -> list[tuple[str, str]]:
    errors = exc.errors() if hasattr(exc, "errors") else []
    return [(error_path(tuple(e.get("loc") or ())), _message(e)) for e in errors]


def parse(raw: bytes, model: type[M]) -> M:
    """Parse and validate a JSON body; every problem is named by its path."""
    if not raw.strip():
        raise CrmError("the request body is empty; send a JSON object", field="body")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        problems = validation_problems(exc)
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            raise CrmError(
                f"the request body is not valid JSON: {exc.errors()[0]['msg']}"
            ) from None
        raise InvalidInput(problems) from None


def load_json(raw: bytes) -> Any:
    """Decoded JSON, or ``None`` when it is not (the model then gives the error).

    msgspec keeps integers of any size exact (orjson turns those beyond 64 bits into floats
    without a word), so the value checks see what was sent and refuse what is out of range.
    """
    try:
        return msgspec.json.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None


def shown(value: Any) -> str:
    """A short JSON rendering of a value for a message ('' when it is long or not a scalar)."""
    if not isinstance(value, (str, int, float, bool)):
        return ""
    text = msgspec.json.encode(value).decode() if not isinstance(value, float) else repr(value)
    return text if len(text) < 60 else ""


JSON_TYPES = ("application/json",)


def check_media_type(request: Request, accepted: tuple[str, ...] = JSON_TYPES) -> None:
    """A body must say what it is: JSON (``application/json`` or any ``+json`` type)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media in accepted or (media.endswith("+json") and "application/json" in accepted):
        return
    shown = f"Content-Type {media!r}" if media else "no Content-Type"
    raise UnsupportedMediaType(
        f"the body was sent with {shown}; send it as JSON with Content-Type: application/json",
        field="Content-Type",
    )


async def read_body(
    request: Request, limit: int = DEFAULT_BODY_LIMIT, accepted: tuple[str, ...] = JSON_TYPES
) -> bytes:
    """The body, refused with 415 unless it is of an ``accepted`` media type, and with 413 before
    it is read whole when it is over ``limit`` bytes."""
    check_media_type(request, accepted)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the request body is over {limit // 1024} KB", field="body")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the request body is over {limit // 1024} KB", field="body")
        chunks.append(chunk)
    return b"".join(chunks)


def rate_limit_headers(decision: Any, prefix: str = "X-RateLimit-") -> dict[str, str]:
    """``<prefix>Limit``, ``-Remaining`` and ``-Reset`` (seconds): the native and MainBrainer
    names by default, Brevo's with ``prefix="x-sib-ratelimit-"``."""
    return {
        f"{prefix}Limit": str(decision.limit),
        f"{prefix}Remaining": str(decision.remaining),
        f"{prefix}Reset": str(math.ceil(decision.reset)),
    }


def retry_after(decision: Any) -> str:
    """Whole seconds until the key may make another request (at least 1)."""
    return str(max(1, math.ceil(decision.retry_after)))


# ---- batch writes: one way in for every dialect ----------------------------------------------


async def raw_body(request: Request) -> bytes:
    """The request body as bytes (JSON, at most 1 MB): routes that do blocking work take it as a
    dependency and run in the thread pool."""
    return await read_body(request)


RawBody = Annotated[bytes, Depends(raw_body)]

#: OpenAPI: the answer of a batch write sent with ``?dry_run=true``
DRY_RUN: dict[int | str, dict[str, Any]] = {
    200: {"model": native_wire.DryRun, "description": "dry_run=true: what the batch would do"}
}

DryRun = Annotated[
    bool,
    Query(
        description="plan the batch against the data as applied so far and answer 200 with the "
        "native result document; nothing is written"
    ),
]


def prepare(db: Database, account_id: int, build: Callable[[Any, Any], T]) -> T:
    """``build(conn, schema)`` on a read snapshot: a batch is checked before any write lock is
    taken (a schema that changes before the worker applies it is checked again there)."""
    with db.read() as conn:
        return build(conn, schemas.load(conn, account_id))


def request_digest(request: Request, raw: bytes, notify_url: str | None = None) -> str | None:
    """The fingerprint an Idempotency-Key is held to: the path, the body and the webhook
    target (the same key with another target is another request)."""
    if not request.headers.get("idempotency-key"):
        return None
    parts: list[bytes | str] = [request.url.path, raw]
    if notify_url:
        parts.append(notify_url)
    return processes.request_hash(*parts)


def accept(
    request: Request,
    db: Database,
    account_id: int,
    submission: processes.Submission,
    *,
    dialect: str,
    raw: bytes,
    notify_url: str | None = None,
    before_insert: processes.BeforeInsert | None = None,
    parts: list[processes.Submission] | None = None,
) -> processes.Accepted:
    """Store a checked batch as a process (one short write: the row and its payload), count it
    and wake a worker, unless it replays an earlier request's Idempotency-Key. With ``parts``,
    ``submission`` is the final process of a batch applied in parts
    (:func:`crmbatch.core.processes.service.accept_parts`)."""
    options: dict[str, Any] = dict(
        dialect=dialect,
        idempotency_key=request.headers.get("idempotency-key") or None,
        digest=request_digest(request, raw, notify_url),
        notify_url=notify_url,
        before_insert=before_insert,
    )
    with db.write() as conn:
        if parts is None:
            accepted = processes.accept(conn, account_id, submission, **options)
        else:
            accepted = processes.accept_parts(conn, account_id, parts, submission, **options)
    if not accepted.replayed:
        metrics.BATCHES_ACCEPTED.labels(submission.kind).inc()
        request.app.state.wake_worker()
    return accepted


def accepted_answer(
    accepted: processes.Accepted | None, body: dict[str, Any], status_code: int = 202
) -> JSONResponse:
    """An accepting answer; a replay (same Idempotency-Key and request) says so."""
    return JSONResponse(body, status_code=status_code, headers=replay_headers(accepted))


def dry_run_answer(
    db: Database,
    account_id: int,
    submission: processes.Submission | None,
    *,
    refused: preview.Refused | None = None,
) -> FastJSON:
    """200 with what the batch would do: the native result document, in input order."""
    with db.read() as conn:
        return FastJSON(preview.dry_run(conn, account_id, submission, refused=refused))


async def write_now(
    request: Request,
    db: Database,
    account_id: int,
    build: sync.Build,
    *,
    dialect: str,
    read_back: sync.ReadBack | None = None,
) -> sync.Written:
    """Write a batch now, in one transaction (a synchronous API such as HubSpot's).

    While earlier batches of its object type are queued or being applied, nothing is written
    and the request waits for them on the event loop, holding no thread; after
    ``CRMBATCH_SYNC_WAIT`` seconds it gives up with 503 and ``Retry-After``: nothing was written,
    so sending it again is safe.
    """
    deadline = time.monotonic() + request.app.state.settings.sync_wait
    while True:
        try:
            written: sync.Written = await run_in_threadpool(
                sync.write_now, db, account_id, build, dialect=dialect, read_back=read_back
            )
        except sync.PartitionBusy as busy:
            await _wait_idle(db, busy.partition, deadline)
            continue
        kind = written.submission.kind
        metrics.BATCHES_ACCEPTED.labels(kind).inc()
        metrics.observe_applied(kind, written.outcome.counts, 0.0)
        return written


async def _wait_idle(db: Database, partition: str, deadline: float) -> None:
    pause = 0.005
    while await run_in_threadpool(sync.partition_busy, db, partition):
        if time.monotonic() + pause > deadline:
            raise Unavailable(
                "earlier batches of this object type are still being applied; this request was "
                "not carried out and nothing was written: send it again shortly",
                retry_after=2.0,
            )
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.1)
