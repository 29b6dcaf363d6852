"""HubSpot's associations v4: link, unlink and read the links between two objects, with labels.

Links are the engine's links (the same ones Brevo's ``associations`` and ``association=true``
show): every write is a batch of record commands on the ``from`` type, applied now through the
engine in one transaction, in order with that type's queued batches. Labels are the pair's
association labels (:mod:`crmbatch.core.schema.labels`); type ids are derived as
:mod:`crmbatch.dialects.hubspot.association_types` explains.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from crmbatch.core import clock
from crmbatch.core.errors import CrmError, NotFound
from crmbatch.core.processes.service import Submission
from crmbatch.core.records import service as records
from crmbatch.core.records.limits import MAX_LINKS_PER_TYPE, MAX_RECORDS
from crmbatch.core.results import Result
from crmbatch.core.results import error as result_error
from crmbatch.core.schema.model import AccountSchema, ObjectType
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
from crmbatch.dialects.hubspot import association_types as kinds
from crmbatch.dialects.hubspot import batches, translate, wire
from crmbatch.dialects.hubspot.routes import ERRORS, ObjectTypeParam, _schema

router = APIRouter(prefix="/crm/v4", tags=["hubspot associations"], responses=ERRORS)

ObjectIdParam = Annotated[str, Path(min_length=1, max_length=64)]
#: links a read answers per object and page
PAGE = 500

#: one wanted change: (from id as given, to id as given, link?, label ids)
Change = tuple[str, str, bool, list[int]]


def _record_id(given: str) -> int | None:
    return int(given) if given.isdigit() and len(given) <= 18 else None


def pair_of(schema: AccountSchema, from_type: str, to_type: str) -> tuple[ObjectType, ObjectType]:
    a = translate.resolve_type(schema, from_type)
    b = translate.resolve_type(schema, to_type)
    kinds.plain(schema, a, b)  # 400 when the pair is not associated
    return a, b


def _commands(b: ObjectType, changes: list[Change]) -> list[dict[str, Any]]:
    """One record command on the ``from`` type per wanted change."""
    commands: list[dict[str, Any]] = []
    for from_given, to_given, link, labels in changes:
        from_id, to_id = _record_id(from_given), _record_id(to_given)
        if from_id is None:
            missing = result_error("record_not_found", "from.id", f"no object has id {from_given}")
            commands.append({"reject": missing})
        elif to_id is None:
            target = result_error(
                "association_target_not_found", "to.id", f"no {b.name} object has id {to_given}"
            )
            commands.append({"reject": target})
        else:
            entry: dict[str, Any] = {
                "object_type": b.name,
                "action": "link" if link else "unlink",
                "records": [{"id": to_id}],
            }
            if labels:
                entry["labels"] = labels
            commands.append({"id": from_id, "attributes": {}, "associations": [entry]})
    return commands


class _Links:
    """A v4 write as the engine takes it: the pair named in the path, and the changes."""

    def __init__(
        self,
        from_type: str,
        to_type: str,
        changes: Callable[[AccountSchema, ObjectType, ObjectType], list[Change]],
    ) -> None:
        self.from_type, self.to_type, self.changes_of = from_type, to_type, changes
        self.changes: list[Change] = []
        self.pair: tuple[ObjectType, ObjectType] | None = None

    def build(self, conn: Any, schema: AccountSchema) -> Submission:
        a, b = self.pair = pair_of(schema, self.from_type, self.to_type)
        self.changes = self.changes_of(schema, a, b)
        if len(self.changes) > MAX_RECORDS:
            raise batches.invalid(
                f"at most {MAX_RECORDS} associations per request (got {len(self.changes)})"
            )
        return records.upsert_submission(
            schema,
            a.name,
            _commands(b, self.changes),
            allow_system=True,
            each_alone=True,
            collection="inputs",
        )

    def read_back(self, conn: Any, schema: AccountSchema, sub: Submission, outcome: Any) -> Any:
        pairs = [
            (int(f), int(t))
            for (f, t, _, _), r in zip(self.changes, outcome.results, strict=True)
            if r.applied
        ]
        return records.links_between(conn, pairs)


async def _apply(
    request: Request, db: Database, account_id: int, write: _Links, dry_run: bool
) -> Any:
    if dry_run:
        return dry_run_answer(db, account_id, prepare(db, account_id, write.build))
    return await write_now(
        request, db, account_id, write.build, dialect="hubspot", read_back=write.read_back
    )


def _failure(n: int, change: Change, result: Result) -> dict[str, Any]:
    first = result.errors[0]
    category = "OBJECT_NOT_FOUND" if first["code"] == "record_not_found" else "VALIDATION_ERROR"
    return {
        "status": "error",
        "category": category,
        "message": f"inputs[{n}]: {first['message']}",
        "context": {"fromObjectId": [change[0]], "toObjectId": [change[1]]},
        "errors": [],
        "links": {},
    }


def _check_inputs(n: int) -> None:
    if n == 0 or n > wire.MAX_ASSOCIATION_INPUTS:
        raise batches.invalid(
            f"inputs must hold 1 to {wire.MAX_ASSOCIATION_INPUTS} items (got {n})"
        )


def _labelled_changes(inputs: list[wire.AssociationInput], link: bool) -> Any:
    def changes(schema: AccountSchema, a: ObjectType, b: ObjectType) -> list[Change]:
        return [
            (
                i.from_.id,
                i.to.id,
                link,
                kinds.label_ids(
                    schema, a, b, [t.associationTypeId for t in i.types], f"inputs[{n}]"
                ),
            )
            for n, i in enumerate(inputs)
        ]

    return changes


def _pair_out(
    schema: AccountSchema, a: ObjectType, b: ObjectType, f: int, t: int, labels: frozenset[int]
) -> dict[str, Any]:
    return {
        "fromObjectTypeId": translate.object_type_id(a),
        "fromObjectId": f,
        "toObjectTypeId": translate.object_type_id(b),
        "toObjectId": t,
        "labels": [x["label"] for x in kinds.shown(schema, a, b, labels) if x["label"]],
    }


@router.post(
    "/associations/{fromObjectType}/{toObjectType}/batch/create",
    status_code=201,
    summary="Link pairs of objects, with labels (201; 207 when some inputs failed)",
    openapi_extra=json_body(wire.AssociationBatch),
)
async def batch_create(
    fromObjectType: ObjectTypeParam,
    toObjectType: ObjectTypeParam,
    request: Request,
    db: DB,
    account: CurrentAccount,
    raw: RawBody,
    dry_run: DryRun = False,
) -> Any:
    body = parse(raw, wire.AssociationBatch)
    _check_inputs(len(body.inputs))
    started = clock.iso(clock.now())
    write = _Links(fromObjectType, toObjectType, _labelled_changes(body.inputs, True))
    done = await _apply(request, db, account.id, write, dry_run)
    if dry_run:
        return done
    assert write.pair is not None
    a, b = write.pair
    results, errors = [], []
    for n, (change, result) in enumerate(zip(write.changes, done.outcome.results, strict=True)):
        if not result.applied:
            errors.append(_failure(n, change, result))
            continue
        f, t = int(change[0]), int(change[1])
        results.append(_pair_out(done.schema, a, b, f, t, done.read.get((f, t), frozenset())))
    answer = batches.batch_body(results, errors, started)
    return FastJSON(answer, status_code=207 if errors else 201)


@router.post(
    "/associations/{fromObjectType}/{toObjectType}/batch/associate/default",
    summary="Link pairs of objects with the plain (unlabelled) association",
    openapi_extra=json_body(wire.DefaultAssociationBatch),
)
async def batch_create_default(
    fromObjectType: ObjectTypeParam,
    toObjectType: ObjectTypeParam,
    request: Request,
    db: DB,
    account: CurrentAccount,
    raw: RawBody,
    dry_run: DryRun = False,
) -> Any:
    body = parse(raw, wire.DefaultAssociationBatch)
    _check_inputs(len(body.inputs))
    started = clock.iso(clock.now())
    pairs: list[Change] = [(i.from_.id, i.to.id, True, []) for i in body.inputs]
    write = _Links(fromObjectType, toObjectType, lambda *_: list(pairs))
    done = await _apply(request, db, account.id, write, dry_run)
    if dry_run:
        return done
    return FastJSON(_default_answer(done, write, started))


def _default_answer(done: Any, write: _Links, started: str | None) -> dict[str, Any]:
    assert write.pair is not None
    a, b = write.pair
    spec = kinds.plain(done.schema, a, b)
    results, errors = [], []
    for n, (change, result) in enumerate(zip(write.changes, done.outcome.results, strict=True)):
        if not result.applied:
            errors.append(_failure(n, change, result))
            continue
        results.append(
            {
                "from": {"id": change[0]},
                "to": {"id": change[1]},
                "associationSpec": {
                    "associationCategory": spec.category,
                    "associationTypeId": spec.type_id,
                },
            }
        )
    return batches.batch_body(results, errors, started)


def _archive_changes(inputs: list[wire.AssociationArchiveInput]) -> list[Change]:
    return [(i.from_.id, t.id, False, []) for i in inputs for t in i.to]


def _chunked(changes: list[Change]) -> Iterable[list[Change]]:
    """Unlinks of one ``from`` object, at most the engine's links per record and type a command."""
    for start in range(0, len(changes), MAX_LINKS_PER_TYPE):
        yield changes[start : start + MAX_LINKS_PER_TYPE]


@router.post(
    "/associations/{fromObjectType}/{toObjectType}/batch/archive",
    status_code=204,
    response_class=Response,
    response_model=None,
    responses=DRY_RUN,
    summary="Remove every association between pairs of objects",
    openapi_extra=json_body(wire.AssociationArchiveBatch),
)
async def batch_archive(
    fromObjectType: ObjectTypeParam,
    toObjectType: ObjectTypeParam,
    request: Request,
    db: DB,
    account: CurrentAccount,
    raw: RawBody,
    dry_run: DryRun = False,
) -> Any:
    body = parse(raw, wire.AssociationArchiveBatch)
    _check_inputs(len(body.inputs))
    changes = _archive_changes(body.inputs)
    write = _Links(fromObjectType, toObjectType, lambda *_: changes)
    done = await _apply(request, db, account.id, write, dry_run)
    return done if dry_run else Response(status_code=204)


@router.post(
    "/associations/{fromObjectType}/{toObjectType}/batch/labels/archive",
    status_code=204,
    response_class=Response,
    response_model=None,
    responses=DRY_RUN,
    summary="Take labels off associations (the associations stay)",
    openapi_extra=json_body(wire.AssociationBatch),
)
async def batch_archive_labels(
    fromObjectType: ObjectTypeParam,
    toObjectType: ObjectTypeParam,
    request: Request,
    db: DB,
    account: CurrentAccount,
    raw: RawBody,
    dry_run: DryRun = False,
) -> Any:
    body = parse(raw, wire.AssociationBatch)
    _check_inputs(len(body.inputs))
    label_changes = _labelled_changes(body.inputs, False)

    def changes(schema: AccountSchema, a: ObjectType, b: ObjectType) -> list[Change]:
        # without labels an unlink removes the link: here only the labels named go
        return [c for c in label_changes(schema, a, b) if c[3]]

    write = _Links(fromObjectType, toObjectType, changes)
    done = await _apply(request, db, account.id, write, dry_run)
    return done if dry_run else Response(status_code=204)


# ---- reads ----------------------------------------------------------------------------------


def _after(given: str | None, where: str) -> int:
    if not given:
        return 0
    if not given.isdigit() or len(given) > 18:
        raise CrmError(f"{where}: after must be the cursor a previous page gave", field="after")
    return int(given)


def _associated(
    db: Database,
    account_id: int,
    from_type: str,
    to_type: str,
    starts: list[tuple[int, int]],
    n: int,
) -> tuple[AccountSchema, ObjectType, ObjectType, dict[int, Any], dict[int, list[Any]]]:
    """The pair, which of the records exist, and for each (record, after) its links past
    ``after`` (at most ``n`` + 1, to tell whether a next page follows)."""
    schema = _schema(db, account_id)
    a, b = pair_of(schema, from_type, to_type)
    with db.read() as conn:
        found = records.by_ids(conn, a, [rid for rid, _ in starts])
        live = [(rid, after) for rid, after in starts if rid in found]
        links: dict[int, list[Any]] = {}
        for link in records.links_from(conn, live, b, limit=n + 1):
            links.setdefault(link.record_id, []).append(link)
    return schema, a, b, found, links


def _page(
    schema: AccountSchema, a: ObjectType, b: ObjectType, links: list[Any], n: int
) -> dict[str, Any]:
    shown = links[:n]
    out: dict[str, Any] = {
        "results": [
            {
                "toObjectId": link.other_id,
                "associationTypes": kinds.shown(schema, a, b, link.labels),
            }
            for link in shown
        ]
    }
    if len(links) > n:
        cursor = str(shown[-1].other_id)
        out["paging"] = {"next": {"after": cursor, "link": f"?after={cursor}"}}
    return out


@router.post(
    "/associations/{fromObjectType}/{toObjectType}/batch/read",
    summary="The associations of objects to one type, 500 an object a page (207: unknown ids)",
    openapi_extra=json_body(wire.FetchBatch),
)
def batch_read(
    fromObjectType: ObjectTypeParam,
    toObjectType: ObjectTypeParam,
    db: DB,
    account: CurrentAccount,
    raw: RawBody,
) -> Any:
    body = parse(raw, wire.FetchBatch)
    _check_inputs(len(body.inputs))
    started = clock.iso(clock.now())
    starts = [
        (rid, _after(i.after, f"inputs[{n}]"))
        for n, i in enumerate(body.inputs)
        if (rid := _record_id(i.id)) is not None
    ]
    schema, a, b, found, links = _associated(
        db, account.id, fromObjectType, toObjectType, starts, PAGE
    )
    results, errors, missing = [], [], []
    for i in body.inputs:
        rid = _record_id(i.id)
        if rid is None or rid not in found:
            missing.append(i.id)
            continue
        page = _page(schema, a, b, links.get(rid, []), PAGE)
        results.append({"from": {"id": i.id}, "to": page["results"], **page_paging(page)})
    if missing:
        errors.append(
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": f"No {a.name} objects with these ids: {', '.join(missing)}",
                "context": {"ids": missing},
                "errors": [],
                "links": {},
            }
        )
    return FastJSON(
        batches.batch_body(results, errors, started), status_code=207 if errors else 200
    )


def page_paging(page: dict[str, Any]) -> dict[str, Any]:
    return {"paging": page["paging"]} if "paging" in page else {}


@router.get(
    "/objects/{objectType}/{objectId}/associations/{toObjectType}",
    response_model=wire.AssociatedPage,
    summary="An object's associations to one type, with their labels",
)
def list_associations(
    objectType: ObjectTypeParam,
    objectId: ObjectIdParam,
    toObjectType: ObjectTypeParam,
    db: DB,
    account: CurrentAccount,
    after: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE)] = PAGE,
) -> Any:
    rid = _record_id(objectId)
    starts = [(rid, _after(after, "after"))] if rid is not None else []
    schema, a, b, found, links = _associated(
        db, account.id, objectType, toObjectType, starts, limit
    )
    if rid is None or rid not in found:
        raise NotFound(f"No {a.name} object has id {objectId}", field="objectId")
    return FastJSON(_page(schema, a, b, links.get(rid, []), limit))


# ---- single writes ----------------------------------------------------------------------------


def _single_failure(done: Any) -> None:
    (result,) = done.outcome.results
    if not result.applied:
        first = result.errors[0]
        if first["code"] in ("record_not_found", "association_target_not_found"):
            raise NotFound(first["message"], field="objectId")
        raise CrmError(first["message"], field="types")


@router.put(
    "/objects/{objectType}/{objectId}/associations/{toObjectType}/{toObjectId}",
    status_code=201,
    response_model=wire.LabelsBetweenObjectPair,
    summary="Link two objects with the labels given (a list of association types)",
)
async def create(
    objectType: ObjectTypeParam,
    objectId: ObjectIdParam,
    toObjectType: ObjectTypeParam,
    toObjectId: ObjectIdParam,
    request: Request,
    db: DB,
    account: CurrentAccount,
    raw: RawBody,
    dry_run: DryRun = False,
) -> Any:
    specs = parse(raw, wire.AssociationSpecList).root

    def changes(schema: AccountSchema, a: ObjectType, b: ObjectType) -> list[Change]:
        ids = kinds.label_ids(schema, a, b, [s.associationTypeId for s in specs], "body")
        return [(objectId, toObjectId, True, ids)]

    write = _Links(objectType, toObjectType, changes)
    done = await _apply(request, db, account.id, write, dry_run)
    if dry_run:
        return done
    _single_failure(done)
    assert write.pair is not None
    f, t = int(objectId), int(toObjectId)
    answer = _pair_out(done.schema, *write.pair, f, t, done.read.get((f, t), frozenset()))
    return FastJSON(answer, status_code=201)


@router.put(
    "/objects/{objectType}/{objectId}/associations/default/{toObjectType}/{toObjectId}",
    summary="Link two objects with the plain (unlabelled) association",
)
async def create_default(
    objectType: ObjectTypeParam,
    objectId: ObjectIdParam,
    toObjectType: ObjectTypeParam,
    toObjectId: ObjectIdParam,
    request: Request,
    db: DB,
    account: CurrentAccount,
    dry_run: DryRun = False,
) -> Any:
    started = clock.iso(clock.now())
    write = _Links(objectType, toObjectType, lambda *_: [(objectId, toObjectId, True, [])])
    done = await _apply(request, db, account.id, write, dry_run)
    if dry_run:
        return done
    _single_failure(done)
    return FastJSON(_default_answer(done, write, started))


@router.delete(
    "/objects/{objectType}/{objectId}/associations/{toObjectType}/{toObjectId}",
    status_code=204,
    response_class=Response,
    response_model=None,
    responses=DRY_RUN,
    summary="Remove every association between two objects",
)
async def archive(
    objectType: ObjectTypeParam,
    objectId: ObjectIdParam,
    toObjectType: ObjectTypeParam,
    toObjectId: ObjectIdParam,
    request: Request,
    db: DB,
    account: CurrentAccount,
    dry_run: DryRun = False,
) -> Any:
    write = _Links(objectType, toObjectType, lambda *_: [(objectId, toObjectId, False, [])])
    done = await _apply(request, db, account.id, write, dry_run)
    return done if dry_run else Response(status_code=204)
