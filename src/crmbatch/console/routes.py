"""The console's pages: sign in, overview, records, processes, webhooks, schema. Each reads
through the core services for the session's account only."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from crmbatch.console import activity, exports, session
from crmbatch.console.render import page
from crmbatch.core import clock
from crmbatch.core.contacts import service as contacts
from crmbatch.core.errors import CrmError, NotFound
from crmbatch.core.lists import service as lists
from crmbatch.core.processes import service as processes
from crmbatch.core.processes import store as process_store
from crmbatch.core.records import service as records
from crmbatch.core.schema import service as schemas
from crmbatch.core.search import service as search
from crmbatch.core.webhooks import service as webhooks
from crmbatch.delivery import webhook_policy
from crmbatch.dialects.common import DB, MAX_INT64

router = APIRouter(prefix="/console", include_in_schema=False)

#: rows on one page of a console list
PAGE = 50


def console_session(request: Request, db: DB) -> session.Session:
    with db.read() as conn:
        current = session.load(conn, request.cookies.get(session.COOKIE))
    request.state.console_session = current
    return current


Session = Annotated[session.Session, Depends(console_session)]
Id = Annotated[int, Path(ge=1, le=MAX_INT64)]


async def _form(request: Request) -> dict[str, str]:
    raw = await request.body()
    if len(raw) > 64 * 1024:
        raise CrmError("this form is too large")
    return {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}


def _safe_next(target: str | None) -> str:
    """Only a console page of this server (no open redirect)."""
    if target and target.startswith("/console/") and not target.startswith("//"):
        return target
    return "/console/"


# -- session ---------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None, why: str | None = None) -> Any:
    return page(request, "login.html", next=_safe_next(next), why=why)


@router.post("/login")
async def login(request: Request, db: DB) -> Any:
    form = await _form(request)
    target = _safe_next(form.get("next"))

    def issue() -> tuple[session.Session, str]:
        with db.read() as conn:
            return session.issue(conn, form.get("key") or "")

    try:
        _, cookie = await run_in_threadpool(issue)
    except CrmError as e:
        return page(request, "login.html", status=401, next=target, why=e.message)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        session.COOKIE,
        cookie,
        max_age=session.LIFETIME,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
async def logout(request: Request, current: Session) -> Any:
    session.check_csrf(current, (await _form(request)).get("csrf"))
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(session.COOKIE, path="/console")
    return response


# -- overview --------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, db: DB, current: Session) -> Any:
    account_id = current.account.id
    now = clock.now()
    with db.read() as conn:
        completed = process_store.completed_since(conn, account_id, now - timedelta(days=1))
        depth = process_store.depth_of(conn, account_id)
        failed = activity.with_failures(conn, account_id, limit=10)
        failing = webhooks.of_account(conn, account_id, limit=10, failing=True)
    return page(
        request,
        "overview.html",
        depth=depth,
        hour=activity.series(completed, now, minutes=60, step=1),
        day=activity.series(completed, now, minutes=24 * 60, step=60),
        failed=failed,
        failing=failing,
    )


# -- processes -------------------------------------------------------------------------------

FILTERS = ("status", "kind", "dialect", "object_type")


@router.get("/processes", response_class=HTMLResponse)
def process_list(
    request: Request,
    db: DB,
    current: Session,
    status: str | None = None,
    kind: str | None = None,
    dialect: str | None = None,
    object_type: str | None = None,
    failures: bool = False,
    warnings: bool = False,
    before: Annotated[int | None, Query(ge=1, le=MAX_INT64)] = None,
) -> Any:
    given = {"status": status, "kind": kind, "dialect": dialect, "object_type": object_type}
    where = {k: v for k, v in given.items() if v}
    with db.read() as conn:
        rows = activity.processes_page(
            conn,
            current.account.id,
            where=where,
            failures=failures,
            warnings=warnings,
            before=before,
            limit=PAGE,
        )
    params = {**where, "failures": "1" if failures else None, "warnings": "1" if warnings else None}
    more = rows[-1]["id"] if len(rows) == PAGE else None
    return page(request, "processes.html", rows=rows, params=params, more=more)


def _results(conn: Any, account_id: int, process_id: int) -> tuple[dict[str, Any], list[Any]]:
    view = processes.full(conn, account_id, process_id)
    return view, view.pop("results")


@router.get("/processes/{process_id}", response_class=HTMLResponse)
def process_page(
    request: Request,
    db: DB,
    current: Session,
    process_id: Id,
    status: str | None = None,
    code: str | None = None,
) -> Any:
    with db.read() as conn:
        view, results = _results(conn, current.account.id, process_id)
        deliveries = webhooks.of_process(conn, process_id)
    shown = exports.narrowed(results, status=status, code=code)
    return page(
        request,
        "process.html",
        process=view,
        results=shown[:1000],
        hidden=max(0, len(shown) - 1000),
        codes=exports.codes(results),
        params={"status": status, "code": code},
        deliveries=deliveries,
    )


@router.get("/processes/{process_id}/failures.{fmt}")
def process_failures(db: DB, current: Session, process_id: Id, fmt: str) -> Response:
    if fmt not in exports.FORMATS:
        raise NotFound(f"no failures file .{fmt}; there are {', '.join(exports.FORMATS)}")
    with db.read() as conn:
        _, results = _results(conn, current.account.id, process_id)
    body, media = exports.failures(results, fmt)
    name = f"process-{process_id}-failures.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(body, media_type=media, headers=headers)


# -- records ---------------------------------------------------------------------------------


def _number(text: str | None, field: str) -> int | None:
    """A form's number field: empty is none, anything but a positive integer is an error."""
    if text is None or not text.strip():
        return None
    if not text.strip().isdigit() or not 1 <= int(text) <= MAX_INT64:
        raise CrmError(f"{field} must be a positive whole number (got {text!r})", field=field)
    return int(text)


@router.get("/records", response_class=HTMLResponse)
def record_list(
    request: Request,
    db: DB,
    current: Session,
    type: str | None = None,
    id: Annotated[str | None, Query(max_length=20)] = None,
    ext_id: Annotated[str | None, Query(max_length=255)] = None,
    attr: Annotated[str | None, Query(max_length=255)] = None,
    value: Annotated[str | None, Query(max_length=1024)] = None,
    match: str = "eq",
    list: Annotated[str | None, Query(max_length=20)] = None,
    offset: Annotated[int, Query(ge=0, le=search.MAX_RESULTS)] = 0,
) -> Any:
    record_id, list_id = _number(id, "id"), _number(list, "list")
    with db.read() as conn:
        schema = schemas.load(conn, current.account.id)
        # the account's own types first: they are what a user comes to look at
        types = sorted(schema.types.values(), key=lambda t: (t.is_system, t.name))
        t = schema.types.get(type or "") or (types[0] if types else None)
        found = activity.find_records(
            conn,
            t,
            id=record_id,
            ext_id=ext_id,
            attr=attr,
            value=value,
            prefix=match == "prefix",
            list_id=list_id,
            offset=offset,
            limit=PAGE,
        )
    params = {"type": t.name if t else None, "id": id, "ext_id": ext_id, "attr": attr}
    params |= {"value": value, "match": match, "list": list}
    return page(
        request, "records.html", types=types, t=t, found=found, params=params, offset=offset
    )


@router.get("/records/{record_id}", response_class=HTMLResponse)
def record_page(request: Request, db: DB, current: Session, record_id: Id) -> Any:
    account_id = current.account.id
    with db.read() as conn:
        schema = schemas.load(conn, account_id)
        t, record = records.owned(conn, schema, record_id)
        linked = records.linked(conn, [record_id], [o.id for o in schema.types.values()])
        timeline = records.timeline(conn, record_id)
        contact = (
            contacts.get(conn, account_id, "id", record_id, recent_events=50)
            if t.name == contacts.CONTACT
            else None
        )
        in_lists = [
            lists.get_by_id(conn, account_id, i) for i in (contact or {}).get("list_ids", [])
        ]
    links = [
        (schema.by_id(type_id), ids) for type_id, ids in sorted(linked.get(record_id, {}).items())
    ]
    return page(
        request,
        "record.html",
        t=t,
        record=record,
        links=links,
        timeline=timeline,
        contact=contact,
        in_lists=in_lists,
    )


# -- webhooks --------------------------------------------------------------------------------


@router.get("/webhooks", response_class=HTMLResponse)
def webhook_list(
    request: Request,
    db: DB,
    current: Session,
    status: str | None = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_INT64)] = None,
) -> Any:
    with db.read() as conn:
        rows = webhooks.of_account(
            conn, current.account.id, status=status or None, before_id=before, limit=PAGE
        )
    more = rows[-1]["number"] if len(rows) == PAGE else None
    return page(request, "webhooks.html", rows=rows, shown_status=status, more=more)


@router.post("/webhooks/{delivery_id}/retry")
async def webhook_retry(request: Request, db: DB, current: Session, delivery_id: Id) -> Any:
    session.check_csrf(current, (await _form(request)).get("csrf"))
    policy = webhook_policy(request.app.state.settings)

    def retry() -> None:
        with db.write() as conn:
            webhooks.retry_now(conn, current.account.id, delivery_id, policy=policy)

    await run_in_threadpool(retry)
    request.app.state.wake_worker()
    return RedirectResponse("/console/webhooks?retried=" + str(delivery_id), status_code=303)


# -- schema ----------------------------------------------------------------------------------


@router.get("/schema", response_class=HTMLResponse)
def schema_page(request: Request, db: DB, current: Session) -> Any:
    with db.read() as conn:
        schema = schemas.load(conn, current.account.id)
        contact_lists = lists.all_of(conn, current.account.id)
    types = sorted(schema.types.values(), key=lambda t: (not t.is_system, t.name))
    return page(request, "schema.html", types=types, contact_lists=contact_lists)
