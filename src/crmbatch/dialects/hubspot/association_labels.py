"""HubSpot's association labels (v4): the kinds of link between two object types, the plain one
first. Creating, renaming or deleting a label is a schema change
(:mod:`crmbatch.core.schema.labels`); links keep working when their label goes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from crmbatch.core.schema import labels as schema_labels
from crmbatch.dialects.common import DB, CurrentAccount, RawBody, json_body, parse
from crmbatch.dialects.hubspot import association_types as kinds
from crmbatch.dialects.hubspot import wire
from crmbatch.dialects.hubspot.associations import pair_of
from crmbatch.dialects.hubspot.routes import ERRORS, ObjectTypeParam, _schema

router = APIRouter(prefix="/crm/v4", tags=["hubspot associations"], responses=ERRORS)


@router.get(
    "/associations/{fromObjectType}/{toObjectType}/labels",
    response_model=wire.AssociationTypes,
    summary="The kinds of association from one type to another: the plain one, then labels",
)
def list_labels(
    fromObjectType: ObjectTypeParam, toObjectType: ObjectTypeParam, db: DB, account: CurrentAccount
) -> Any:
    schema = _schema(db, account.id)
    a, b = pair_of(schema, fromObjectType, toObjectType)
    return {"results": [k.out() for k in kinds.of_pair(schema, a, b)]}


@router.post(
    "/associations/{fromObjectType}/{toObjectType}/labels",
    response_model=wire.AssociationTypes,
    summary="Create a label (paired when inverseLabel is given)",
    openapi_extra=json_body(wire.LabelCreate),
)
def create_label(
    fromObjectType: ObjectTypeParam,
    toObjectType: ObjectTypeParam,
    db: DB,
    account: CurrentAccount,
    raw: RawBody,
) -> Any:
    body = parse(raw, wire.LabelCreate)
    with db.write() as conn:
        a, b = pair_of(_schema(db, account.id), fromObjectType, toObjectType)
        label = schema_labels.create(
            conn,
            account.id,
            a.name,
            b.name,
            name=body.name,
            label=body.label,
            inverse_label=body.inverseLabel,
        )
    made = [kinds.labelled(label, a)]
    if label.inverse_label is not None and a.name != b.name:
        made.append(kinds.labelled(label, b))
    return {"results": [k.out() for k in made]}


@router.put(
    "/associations/{fromObjectType}/{toObjectType}/labels",
    status_code=204,
    response_class=Response,
    summary="Rename a label",
    openapi_extra=json_body(wire.LabelUpdate),
)
def update_label(
    fromObjectType: ObjectTypeParam,
    toObjectType: ObjectTypeParam,
    db: DB,
    account: CurrentAccount,
    raw: RawBody,
) -> Response:
    body = parse(raw, wire.LabelUpdate)
    with db.write() as conn:
        schema = _schema(db, account.id)
        a, b = pair_of(schema, fromObjectType, toObjectType)
        label_id = kinds.label_of_type(schema, a, b, body.associationTypeId)
        label, inverse = body.label, body.inverseLabel
        current = schema.labels[label_id]
        if current.inverse_label is not None and current.from_type != a.name:
            # renamed from its far side: ``label`` is the inverse one
            label, inverse = body.inverseLabel or current.label, body.label
        schema_labels.update(
            conn, account.id, a.name, b.name, label_id, label=label, inverse_label=inverse
        )
    return Response(status_code=204)


@router.delete(
    "/associations/{fromObjectType}/{toObjectType}/labels/{associationTypeId}",
    status_code=204,
    response_class=Response,
    summary="Delete a label: the associations that carried it stay, without it",
)
def delete_label(
    fromObjectType: ObjectTypeParam,
    toObjectType: ObjectTypeParam,
    associationTypeId: Annotated[int, Path(ge=0)],
    db: DB,
    account: CurrentAccount,
) -> Response:
    with db.write() as conn:
        schema = _schema(db, account.id)
        a, b = pair_of(schema, fromObjectType, toObjectType)
        label_id = kinds.label_of_type(schema, a, b, associationTypeId)
        schema_labels.delete(conn, account.id, a.name, b.name, label_id)
    return Response(status_code=204)
