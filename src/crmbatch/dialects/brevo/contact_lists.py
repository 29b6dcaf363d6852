"""Brevo's contact lists and folders under /v3/contacts: the same lists as ``/v1/lists`` and
MainBrainer's ``listId``. Contacts join and leave a list through the engine (a contacts process,
in order with every other change to the account's contacts)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from crmbatch.core.contacts import service as contacts
from crmbatch.core.contacts import writes
from crmbatch.core.errors import CrmError
from crmbatch.core.lists import service as lists
from crmbatch.core.schema import service as schemas
from crmbatch.core.schema.model import AccountSchema
from crmbatch.dialects.brevo import contacts_translate as translate
from crmbatch.dialects.brevo import contacts_wire as wire
from crmbatch.dialects.brevo.contacts import _since
from crmbatch.dialects.brevo.routes import ERRORS
from crmbatch.dialects.common import (
    DB,
    MAX_INT64,
    CurrentAccount,
    FastJSON,
    RawBody,
    json_body,
    parse,
    write_now,
)

router = APIRouter(prefix="/v3/contacts", tags=["brevo lists"], responses=ERRORS)

ListId = Annotated[int, Path(ge=1, le=MAX_INT64)]
FolderId = Annotated[int, Path(ge=1, le=MAX_INT64)]
Limit = Annotated[int, Query(ge=0, le=50)]
Offset = Annotated[int, Query(ge=0, le=MAX_INT64)]
Sort = Annotated[Literal["asc", "desc"], Query()]


# ---- lists ---------------------------------------------------------------------------------


@router.get("/lists", response_model=wire.ListsPage, summary="The account's contact lists")
def get_lists(
    db: DB, account: CurrentAccount, limit: Limit = 10, offset: Offset = 0, sort: Sort = "desc"
) -> Any:
    with db.read() as conn:
        count, found = lists.page(
            conn, account.id, limit=limit, offset=offset, descending=sort == "desc"
        )
    return {"lists": [translate.list_out(r) for r in found], "count": count}


@router.post(
    "/lists",
    status_code=201,
    response_model=wire.Created,
    summary="Create a contact list in a folder",
    openapi_extra=json_body(wire.ListCreate),
)
def create_list(db: DB, account: CurrentAccount, raw: RawBody) -> Any:
    body = parse(raw, wire.ListCreate)
    with db.write() as conn:
        made = lists.create(conn, account.id, body.name, body.folderId)
    return JSONResponse({"id": made["list_id"]}, status_code=201)


@router.get("/lists/{listId}", response_model=wire.ListDetail, summary="A contact list")
def get_list(listId: ListId, db: DB, account: CurrentAccount) -> Any:
    with db.read() as conn:
        return translate.list_out(lists.get_by_id(conn, account.id, listId), detail=True)


@router.put(
    "/lists/{listId}",
    status_code=204,
    response_class=Response,
    summary="Rename a list or move it to another folder",
    openapi_extra=json_body(wire.ListUpdate),
)
def update_list(listId: ListId, db: DB, account: CurrentAccount, raw: RawBody) -> Response:
    body = parse(raw, wire.ListUpdate)
    with db.write() as conn:
        lists.update(conn, account.id, listId, name=body.name, folder_id=body.folderId)
    return Response(status_code=204)


@router.delete(
    "/lists/{listId}",
    status_code=204,
    response_class=Response,
    summary="Delete a list (its members stay contacts)",
)
def delete_list(listId: ListId, db: DB, account: CurrentAccount) -> Response:
    with db.write() as conn:
        lists.delete(conn, account.id, listId)
    return Response(status_code=204)


@router.get(
    "/lists/{listId}/contacts",
    response_model=None,
    responses={200: {"model": wire.ContactsPage}},
    summary="The contacts of a list, newest first",
)
def get_contacts_from_list(
    listId: ListId,
    db: DB,
    account: CurrentAccount,
    modifiedSince: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=0, le=500)] = 50,
    offset: Offset = 0,
    sort: Sort = "desc",
) -> Any:
    since = _since(modifiedSince, "modifiedSince")
    with db.read() as conn:
        count, ids = lists.member_ids(
            conn,
            account.id,
            listId,
            limit=limit,
            offset=offset,
            descending=sort == "desc",
            modified_since=since,
        )
        schema = schemas.load(conn, account.id)
        found = contacts.by_ids(conn, schema, ids)
    t = schema.types["contact"]
    return FastJSON({"contacts": [translate.contact_row(t, c) for c in found], "count": count})


def _named(body: wire.MembersChange) -> tuple[str, list[Any]]:
    """How a membership change names its contacts: (identifier kind, values)."""
    if body.emails:
        return "EMAIL", list(body.emails)
    if body.ids:
        return "id", list(body.ids)
    return "ext_id", list(body.extIds or [])


async def _change_members(
    request: Request, db: Any, account_id: int, list_id: int, body: wire.MembersChange, join: bool
) -> Any:
    """Brevo's answer: ``success`` the contacts that joined (left) the list, ``failure`` those
    that do not exist or were in (out of) it already; removing ``all`` says how many left."""
    kind, values = _named(body)
    before: dict[str, Any] = {}

    def build(conn: Any, schema: AccountSchema) -> Any:
        lists.get_by_id(conn, account_id, list_id)  # 404 for a list that is not there
        found = contacts.find_ids(conn, schema, [(kind, v) for v in values], where=_where)
        before["members"] = lists.members_among(conn, list_id, [i for i in found if i])
        before["found"] = found
        before["total"] = lists.get_by_id(conn, account_id, list_id)["members"]
        given = [
            writes.ContactInput(
                identity={kind: value},
                mode="update",
                list_ids=[list_id] if join else [],
                unlink_list_ids=[] if join else [list_id],
            )
            for value in values
        ]
        clear = [list_id] if body.all else []
        return writes.submission(conn, schema, given, strict=False, clear_lists=clear).submission

    done = await write_now(request, db, account_id, build, dialect="brevo")
    if body.all:
        answer = {"success": [], "failure": [], "processId": done.process_id}
        return JSONResponse({"contacts": {**answer, "total": before["total"]}}, status_code=201)
    success: list[Any] = []
    failure: list[Any] = []
    for value, found, result in zip(values, before["found"], done.outcome.results, strict=True):
        was_member = found in before["members"]
        changed = result.applied and (was_member != join)
        (success if changed else failure).append(value)
    return JSONResponse({"contacts": {"success": success, "failure": failure}}, status_code=201)


def _where(index: int) -> str:
    return f"contacts[{index}]"


@router.post(
    "/lists/{listId}/contacts/add",
    status_code=201,
    response_model=wire.MembersAnswer,
    summary="Add existing contacts to a list, by emails, ids or ext_ids (at most 150)",
    openapi_extra=json_body(wire.MembersChange),
)
async def add_contact_to_list(
    listId: ListId, request: Request, db: DB, account: CurrentAccount, raw: RawBody
) -> Any:
    body = parse(raw, wire.MembersChange)
    if body.all:
        raise CrmError("all: only a removal takes all; name the contacts to add", field="all")
    return await _change_members(request, db, account.id, listId, body, join=True)


@router.post(
    "/lists/{listId}/contacts/remove",
    status_code=201,
    response_model=wire.MembersAnswer,
    summary="Remove contacts from a list, by emails, ids or ext_ids (or all of them)",
    openapi_extra=json_body(wire.MembersChange),
)
async def remove_contact_from_list(
    listId: ListId, request: Request, db: DB, account: CurrentAccount, raw: RawBody
) -> Any:
    body = parse(raw, wire.MembersChange)
    return await _change_members(request, db, account.id, listId, body, join=False)


# ---- folders -------------------------------------------------------------------------------


@router.get("/folders", response_model=wire.FoldersPage, summary="The folders of lists")
def get_folders(
    db: DB, account: CurrentAccount, limit: Limit = 10, offset: Offset = 0, sort: Sort = "desc"
) -> Any:
    with db.read() as conn:
        count, found = lists.folders_page(
            conn, account.id, limit=limit, offset=offset, descending=sort == "desc"
        )
    return {"folders": [translate.folder_out(r) for r in found], "count": count}


@router.post(
    "/folders",
    status_code=201,
    response_model=wire.Created,
    summary="Create a folder",
    openapi_extra=json_body(wire.FolderIn),
)
def create_folder(db: DB, account: CurrentAccount, raw: RawBody) -> Any:
    body = parse(raw, wire.FolderIn)
    with db.write() as conn:
        folder_id = lists.create_folder(conn, account.id, body.name)
    return JSONResponse({"id": folder_id}, status_code=201)


@router.get("/folders/{folderId}", response_model=wire.FolderOut, summary="A folder")
def get_folder(folderId: FolderId, db: DB, account: CurrentAccount) -> Any:
    with db.read() as conn:
        return translate.folder_out(lists.get_folder(conn, account.id, folderId))


@router.put(
    "/folders/{folderId}",
    status_code=204,
    response_class=Response,
    summary="Rename a folder",
    openapi_extra=json_body(wire.FolderIn),
)
def update_folder(folderId: FolderId, db: DB, account: CurrentAccount, raw: RawBody) -> Response:
    body = parse(raw, wire.FolderIn)
    with db.write() as conn:
        lists.rename_folder(conn, account.id, folderId, body.name)
    return Response(status_code=204)


@router.delete(
    "/folders/{folderId}",
    status_code=204,
    response_class=Response,
    summary="Delete a folder and its lists (their members stay contacts)",
)
def delete_folder(folderId: FolderId, db: DB, account: CurrentAccount) -> Response:
    with db.write() as conn:
        lists.delete_folder(conn, account.id, folderId)
    return Response(status_code=204)


@router.get(
    "/folders/{folderId}/lists", response_model=wire.ListsPage, summary="The lists of a folder"
)
def get_folder_lists(
    folderId: FolderId,
    db: DB,
    account: CurrentAccount,
    limit: Limit = 10,
    offset: Offset = 0,
    sort: Sort = "desc",
) -> Any:
    with db.read() as conn:
        count, found = lists.page(
            conn,
            account.id,
            limit=limit,
            offset=offset,
            descending=sort == "desc",
            folder_id=folderId,
        )
    return {"lists": [translate.list_out(r) for r in found], "count": count}
