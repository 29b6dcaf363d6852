"""Brevo's contacts API under /v3/contacts: contacts (create, read, list, update, delete, batch
update), the asynchronous import, and contact attributes. Lists and folders are in
:mod:`crmbatch.dialects.brevo.contact_lists`.

Every contact write goes through the engine as a process, in the contacts' partition (in order
with events and MainBrainer's batches). Brevo's synchronous writes are written at once, all or
nothing: an item that cannot be applied refuses the request (400, naming it) and nothing is
written. The import is accepted (202, a process id) and applied by a worker, row by row: a bad
row is named in the process's results and the others are applied.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from crmbatch.core.contacts import service as contacts
from crmbatch.core.contacts import writes
from crmbatch.core.errors import CrmError, NotFound, Unprocessable
from crmbatch.core.lists import service as lists
from crmbatch.core.records import service as records
from crmbatch.core.schema import service as schemas
from crmbatch.core.schema.model import AccountSchema
from crmbatch.core.search import service as search
from crmbatch.core.webhooks import targets
from crmbatch.dialects.brevo import contacts_translate as translate
from crmbatch.dialects.brevo import contacts_wire as wire
from crmbatch.dialects.brevo import wire as brevo_wire
from crmbatch.dialects.brevo.routes import ERRORS, ContactIdentifierType
from crmbatch.dialects.brevo.translate import contact_identifier
from crmbatch.dialects.common import (
    DB,
    DRY_RUN,
    MAX_INT64,
    CurrentAccount,
    DryRun,
    FastJSON,
    RawBody,
    accept,
    dry_run_answer,
    json_body,
    parse,
    prepare,
    read_body,
    write_now,
)
from crmbatch.runtime import gc_paused

router = APIRouter(prefix="/v3", tags=["brevo contacts"], responses=ERRORS)
CONTACT = "contact"

Identifier = Annotated[str, Path(min_length=1, max_length=255)]


def _contact_type(schema: AccountSchema) -> Any:
    return schema.types[CONTACT]


def _one(index: int) -> str:
    return ""


def _refused_or_first(
    conn: Any, schema: Any, submission: Any, outcome: Any, where: Any = _one
) -> Any:
    writes.refuse_failures(outcome, where)
    return outcome.results[0] if outcome.results else None


# ---- listing -----------------------------------------------------------------------------------

_EQUALS = re.compile(r'^\s*equals\(\s*([A-Za-z0-9_]{1,255})\s*,\s*"?(.*?)"?\s*\)\s*$')


def _since(value: str | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CrmError(
            f"{field}: expected a UTC date-time (YYYY-MM-DDTHH:mm:ss.SSSZ), got {value!r}",
            field=field,
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _equals(schema: AccountSchema, text: str) -> search.Filter:
    """Brevo's ``filter=equals(ATTRIBUTE,"value")`` as a filter of the search core."""
    found = _EQUALS.match(text)
    if found is None:
        raise CrmError(f'filter: expected equals(ATTRIBUTE,"value"), got {text!r}', field="filter")
    t = _contact_type(schema)
    key = translate.attribute_key(t, found.group(1))
    attr = t.attributes.get(key)
    if attr is None:
        raise CrmError(f"filter: {found.group(1)!r} is not a contact attribute", field="filter")
    value: Any = translate.cell_value(attr, found.group(2))
    return search.Filter(key, "EQ", value=value)


@router.get(
    "/contacts",
    response_model=None,
    responses={200: {"model": wire.ContactsPage}},
    summary="Contacts, newest first, with their total count",
)
def get_contacts(
    db: DB,
    account: CurrentAccount,
    limit: Annotated[int, Query(ge=0, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT64)] = 0,
    modifiedSince: Annotated[str | None, Query(max_length=40)] = None,
    createdSince: Annotated[str | None, Query(max_length=40)] = None,
    sort: Annotated[Literal["asc", "desc"], Query()] = "desc",
    segmentId: Annotated[int | None, Query(ge=1, le=MAX_INT64)] = None,
    listIds: Annotated[list[Annotated[int, Query(ge=1, le=MAX_INT64)]] | None, Query()] = None,
    ids: Annotated[
        list[Annotated[int, Query(ge=1, le=MAX_INT64)]] | None, Query(max_length=20)
    ] = None,
    filter: Annotated[str | None, Query(max_length=1000)] = None,
) -> Any:
    if segmentId is not None:
        raise CrmError("segmentId: crmbatch has no segments; filter by listIds", field="segmentId")
    filters = []
    modified = _since(modifiedSince, "modifiedSince")
    created = _since(createdSince, "createdSince")
    if modified is not None:
        filters.append(search.Filter("updated_at", "GT", value=modified))
    if created is not None:
        filters.append(search.Filter("created_at", "GT", value=created))
    if ids:
        filters.append(search.Filter("id", "IN", values=tuple(ids)))
    with db.read() as conn:
        if filter:
            filters.append(_equals(schemas.load(conn, account.id), filter))
        query = search.Query(
            groups=[filters] if filters else [],
            sort=("id", sort == "desc"),
            limit=limit,
            offset=offset,
        )
        count, found = contacts.page(conn, account.id, query, members_of=listIds or None)
        t = _contact_type(schemas.load(conn, account.id))
    return FastJSON({"contacts": [translate.contact_row(t, c) for c in found], "count": count})


# ---- create, update, delete ----------------------------------------------------------------


@router.post(
    "/contacts",
    status_code=201,
    response_model=wire.ContactCreated,
    responses={204: {"description": "the contact existed and was updated (updateEnabled)"}},
    summary="Create a contact (or update it: updateEnabled)",
    openapi_extra=json_body(wire.ContactCreate),
)
async def create_contact(request: Request, db: DB, account: CurrentAccount, raw: RawBody) -> Any:
    body = parse(raw, wire.ContactCreate)

    def build(conn: Any, schema: AccountSchema) -> Any:
        given = translate.create_input(_contact_type(schema), body)
        return writes.submission(conn, schema, [given], where=_one).submission

    done = await write_now(
        request, db, account.id, build, dialect="brevo", read_back=_refused_or_first
    )
    if done.read.status == "created":
        return JSONResponse({"id": done.read.id}, status_code=201)
    return Response(status_code=204)


@router.put(
    "/contacts/{identifier}",
    status_code=204,
    response_class=Response,
    summary="Update a contact, named by any identifier",
    openapi_extra=json_body(wire.ContactUpdate),
)
async def update_contact(
    identifier: Identifier,
    request: Request,
    db: DB,
    account: CurrentAccount,
    raw: RawBody,
    identifierType: Annotated[ContactIdentifierType | None, Query()] = None,
) -> Response:
    body = parse(raw, wire.ContactUpdate)
    kind, value = contact_identifier(identifier, identifierType)

    def build(conn: Any, schema: AccountSchema) -> Any:
        found = contacts.find_id(conn, schema, kind, value)
        given = translate.update_input(_contact_type(schema), found, body)
        return writes.submission(conn, schema, [given], where=_one).submission

    await write_now(request, db, account.id, build, dialect="brevo", read_back=_refused_or_first)
    return Response(status_code=204)


@router.delete(
    "/contacts/{identifier}",
    status_code=204,
    response_class=Response,
    summary="Delete a contact, named by any identifier (its events stay)",
)
async def delete_contact(
    identifier: Identifier,
    request: Request,
    db: DB,
    account: CurrentAccount,
    identifierType: Annotated[ContactIdentifierType | None, Query()] = None,
) -> Response:
    kind, value = contact_identifier(identifier, identifierType)

    def build(conn: Any, schema: AccountSchema) -> Any:
        found = contacts.find_id(conn, schema, kind, value)
        return records.delete_submission(
            schema, CONTACT, ids=[found], ext_ids=None, allow_system=True
        )

    await write_now(request, db, account.id, build, dialect="brevo")
    return Response(status_code=204)


def _batch_where(index: int) -> str:
    return f"contacts[{index}]"


@router.post(
    "/contacts/batch",
    status_code=204,
    response_class=Response,
    response_model=None,
    responses=DRY_RUN,
    summary="Update up to 100 contacts, each named by id, email, ext_id or sms",
    openapi_extra=json_body(wire.BatchUpdate),
)
async def update_batch_contacts(
    request: Request, db: DB, account: CurrentAccount, raw: RawBody, dry_run: DryRun = False
) -> Any:
    body = parse(raw, wire.BatchUpdate)

    def build(conn: Any, schema: AccountSchema) -> Any:
        t = _contact_type(schema)
        named = [translate.batch_named(c) for c in body.contacts]
        found = contacts.find_ids(conn, schema, named, where=_batch_where)
        missing = [
            (f"{_batch_where(i)}", f"no contact has {kind} {value!r}")
            for i, ((kind, value), rid) in enumerate(zip(named, found, strict=True))
            if rid is None
        ]
        if missing:
            text = "; ".join(f"{f}: {m}" for f, m in missing)
            raise Unprocessable(text, field="contacts")
        given = [
            translate.update_input(t, rid, c)
            for c, rid in zip(body.contacts, found, strict=True)
            if rid is not None
        ]
        return writes.submission(conn, schema, given, where=_batch_where).submission

    if dry_run:
        return dry_run_answer(db, account.id, prepare(db, account.id, build))

    def read_back(conn: Any, schema: Any, submission: Any, outcome: Any) -> Any:
        return writes.refuse_failures(outcome, _batch_where)

    await write_now(request, db, account.id, build, dialect="brevo", read_back=read_back)
    return Response(status_code=204)


# ---- import ----------------------------------------------------------------------------------


async def import_body(request: Request) -> bytes:
    """An import's body: JSON of at most 10 MB (Brevo's limit for fileBody and jsonBody)."""
    return await read_body(request, limit=translate.MAX_IMPORT_BYTES)


def _import_where(index: int) -> str:
    return f"rows[{index}]"


@router.post(
    "/contacts/import",
    status_code=202,
    response_model=wire.ImportAccepted,
    responses=DRY_RUN,
    summary="Import contacts from CSV text or JSON (asynchronous: a process)",
    openapi_extra=json_body(wire.ImportRequest),
)
def import_contacts(
    request: Request,
    db: DB,
    account: CurrentAccount,
    raw: Annotated[bytes, Depends(import_body)],
    dry_run: DryRun = False,
) -> Any:
    body = parse(raw, wire.ImportRequest)
    if body.fileUrl is not None:
        raise CrmError(
            "fileUrl: crmbatch does not fetch files; send the rows as fileBody (CSV text) or "
            "jsonBody",
            field="fileUrl",
        )
    if (body.fileBody is None) == (body.jsonBody is None):
        raise CrmError("give the rows as fileBody (CSV text) or as jsonBody, one of them")
    new_list = body.newList.listName if body.newList is not None else None
    if not body.listIds and not new_list:
        raise CrmError(
            "give listIds, or newList.listName to import into a new list", field="listIds"
        )
    extra = translate.blacklists(body.emailBlacklist, body.smsBlacklist)
    mode = "upsert" if body.updateExistingContacts else "new_only"

    def build(conn: Any, schema: AccountSchema) -> Any:
        t = _contact_type(schema)
        if body.newList is not None and body.newList.folderId is not None:
            lists.check_folder(conn, account.id, body.newList.folderId)
        with gc_paused():  # 100,000 rows and more, built without cycles
            return rows_checked(conn, schema, t)

    def rows_checked(conn: Any, schema: AccountSchema, t: Any) -> Any:
        """The rows read and checked: one submission for a dry run, else the import's parts."""
        empty = body.emptyContactsAttributes
        if body.fileBody is not None:
            rows = translate.file_inputs(
                t, body.fileBody, empty_clears=empty, extra=extra, mode=mode
            )
        else:
            rows = translate.json_inputs(
                t, body.jsonBody or [], empty_clears=empty, extra=extra, mode=mode
            )
        if not rows:
            raise CrmError("the import has no rows", field="fileBody")
        for row in rows:
            row.list_ids = list(body.listIds or [])
        if dry_run:  # one submission of every row, planned now
            return writes.submission(
                conn, schema, rows, kind=writes.KIND_IMPORT_PART, strict=False, where=_import_where
            )
        return writes.import_parts(conn, schema, rows)

    built = prepare(db, account.id, build)
    if dry_run:
        return dry_run_answer(db, account.id, built.submission)
    target = None
    if body.notifyUrl is not None:
        allow = request.app.state.settings.webhook_allow_private
        targets.check(body.notifyUrl, allow_private=allow, field="notifyUrl")
        target = body.notifyUrl
    folder = body.newList.folderId if body.newList is not None else None
    parts, final = built
    accepted = accept(
        request,
        db,
        account.id,
        final,
        dialect="brevo",
        raw=raw,
        notify_url=target,
        before_insert=writes.joining_new_list(account.id, new_list, folder) if new_list else None,
        parts=parts,
    )
    return JSONResponse({"processId": accepted.process_id}, status_code=202)


# ---- attributes ----------------------------------------------------------------------------

Category = Annotated[wire.AttributeCategory, Path()]
AttributeName = Annotated[str, Path(pattern=r"^[A-Za-z0-9_]{1,255}$")]


@router.get(
    "/contacts/attributes",
    response_model=wire.AttributesPage,
    response_model_exclude_none=True,
    summary="The contact attributes (normal and category ones)",
)
def get_attributes(db: DB, account: CurrentAccount) -> Any:
    with db.read() as conn:
        t = _contact_type(schemas.load(conn, account.id))
    return {"attributes": translate.attributes_out(t)}


def _custom_attribute(schema: AccountSchema, name: str) -> Any:
    t = _contact_type(schema)
    key = translate.attribute_key(t, name)
    attr = t.attributes.get(key)
    if attr is None:
        raise NotFound(f"Attribute {name} does not exist", field="attributeName")
    if attr.builtin:
        raise CrmError(
            f"{attr.key} is one of the contact's own attributes; it cannot be changed",
            field="attributeName",
        )
    return attr


@router.post(
    "/contacts/attributes/{attributeCategory}/{attributeName}",
    status_code=201,
    response_class=Response,
    summary="Create a contact attribute (it lands in the schema document)",
    openapi_extra=json_body(wire.AttributeIn),
)
def create_attribute(
    attributeCategory: Category,
    attributeName: AttributeName,
    db: DB,
    account: CurrentAccount,
    raw: RawBody,
) -> Response:
    body = parse(raw, wire.AttributeIn)
    spec = translate.attribute_spec(attributeCategory, body)
    key = attributeName.upper()
    with db.write() as conn:  # one transaction: concurrent schema changes serialise
        t = _contact_type(schemas.load(conn, account.id))

        def add(entry: dict[str, Any]) -> None:
            attrs = entry.setdefault("attributes", {})
            if key in attrs or translate.attribute_key(t, key) in t.attributes:
                raise CrmError("Attribute name must be unique", field="attributeName")
            attrs[key] = spec

        schemas.edit_type(conn, account.id, CONTACT, add)
    return Response(status_code=201)


@router.put(
    "/contacts/attributes/{attributeCategory}/{attributeName}",
    status_code=204,
    response_class=Response,
    summary="Change a category's options or add multiple-choice options",
    openapi_extra=json_body(wire.AttributeChange),
)
def update_attribute(
    attributeCategory: Category,
    attributeName: AttributeName,
    db: DB,
    account: CurrentAccount,
    raw: RawBody,
) -> Response:
    body = parse(raw, wire.AttributeChange)
    with db.write() as conn:
        attr = _custom_attribute(schemas.load(conn, account.id), attributeName)
        if attr.type == "category" and body.enumeration:
            options = translate.enumeration_options(body.enumeration)
        elif attr.type == "multiple_category" and body.multiCategoryOptions:
            given = translate.text_options(body.multiCategoryOptions)
            have = {o.key for o in attr.options}
            options = [{"key": o.key, "label": o.label} for o in attr.options]
            options += [o for o in given if o["key"] not in have]
        else:
            raise CrmError(
                "give the options to change: enumeration for a category attribute, "
                "multiCategoryOptions for a multiple-choice one",
                field="enumeration",
            )

        def change(entry: dict[str, Any]) -> None:
            entry["attributes"][attr.key]["options"] = options

        schemas.edit_type(conn, account.id, CONTACT, change, allow_destructive=True)
    return Response(status_code=204)


@router.delete(
    "/contacts/attributes/{attributeCategory}/{attributeName}",
    status_code=204,
    response_class=Response,
    summary="Delete a contact attribute (contacts keep their values out of sight)",
)
def delete_attribute(
    attributeCategory: Category, attributeName: AttributeName, db: DB, account: CurrentAccount
) -> Response:
    with db.write() as conn:
        attr = _custom_attribute(schemas.load(conn, account.id), attributeName)
        schemas.remove_attributes(conn, account.id, CONTACT, [attr.key])
    return Response(status_code=204)


@router.delete(
    "/contacts/attributes/{attributeType}/{multipleChoiceAttribute}/{multipleChoiceAttributeOption}",
    status_code=204,
    response_class=Response,
    summary="Delete an option of a multiple-choice attribute",
)
def delete_attribute_option(
    attributeType: Annotated[Literal["multiple-choice"], Path()],
    multipleChoiceAttribute: AttributeName,
    multipleChoiceAttributeOption: Annotated[str, Path(min_length=1, max_length=255)],
    db: DB,
    account: CurrentAccount,
) -> Response:
    with db.write() as conn:
        attr = _custom_attribute(schemas.load(conn, account.id), multipleChoiceAttribute)
        wanted = multipleChoiceAttributeOption
        kept = [o for o in attr.options if wanted not in (o.key, o.label)]
        if attr.type != "multiple_category" or len(kept) == len(attr.options):
            raise NotFound(
                f"{attr.key} has no multiple-choice option {wanted!r}",
                field="multipleChoiceAttributeOption",
            )

        def change(entry: dict[str, Any]) -> None:
            entry["attributes"][attr.key]["options"] = [
                {"key": o.key, "label": o.label} for o in kept
            ]

        schemas.edit_type(conn, account.id, CONTACT, change, allow_destructive=True)
    return Response(status_code=204)


# ---- one contact (last: ``{identifier}`` would match the paths above) ----------------------


@router.get(
    "/contacts/{identifier}",
    response_model=None,
    responses={200: {"model": brevo_wire.Contact}},
    summary="A contact, by any identifier",
)
def get_contact(
    identifier: Identifier,
    db: DB,
    account: CurrentAccount,
    identifierType: Annotated[ContactIdentifierType | None, Query()] = None,
) -> Any:
    kind, value = contact_identifier(identifier, identifierType)
    with db.read() as conn:
        t = _contact_type(schemas.load(conn, account.id))
        return FastJSON(translate.contact(t, contacts.get(conn, account.id, kind, value)))
