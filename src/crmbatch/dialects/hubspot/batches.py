"""HubSpot's batch and single writes ⇄ core: inputs into record commands, per-record results
into HubSpot's answers (200/201, 207 with ``errors``, or the error of a single write)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crmbatch.core import clock
from crmbatch.core.errors import CrmError, NotFound
from crmbatch.core.results import Outcome, Result
from crmbatch.core.results import error as result_error
from crmbatch.core.schema.model import AccountSchema, Attribute, ObjectType
from crmbatch.core.values import identifier_of
from crmbatch.dialects.hubspot import association_types
from crmbatch.dialects.hubspot.translate import (
    attribute_key,
    object_out,
    object_type_id,
    properties_in,
    value_in,
)


@dataclass
class Input:
    """One input of a write, as HubSpot's answer names it."""

    label: str
    trace: str | None = None
    #: the properties the answer shows (those sent)
    wanted: list[str] = field(default_factory=list)
    #: the id the input gave (echoed in OBJECT_NOT_FOUND errors)
    given: str | None = None


def invalid(message: str, **context: list[str]) -> CrmError:
    """HubSpot's 400 for the request as a whole."""
    return CrmError(message, field="inputs", **context)


def id_attribute(t: ObjectType, prop: str, message: str | None = None) -> Attribute:
    """The unique attribute an ``idProperty`` names, or HubSpot's 400 for a non-unique one."""
    attr = t.attributes.get(attribute_key(t, prop))
    if attr is None or not attr.unique:
        raise invalid(
            message
            or f"Unable to perform update/upsert by non-unique {object_type_id(t)} property {prop}"
        )
    return attr


def upsert_commands(
    t: ObjectType, inputs: list[Any], id_property: str | None
) -> tuple[list[dict[str, Any]], list[Input]]:
    """Create-or-update by a unique property: each input matches by its ``idProperty`` value."""
    commands: list[dict[str, Any]] = []
    described: list[Input] = []
    seen: set[str] = set()
    duplicates: list[str] = []
    for n, inp in enumerate(inputs):
        prop = inp.idProperty or id_property
        if not prop:
            raise invalid(f"inputs[{n}].idProperty is required for upsert")
        attr = id_attribute(t, prop)
        value = value_in(attr, inp.id)
        norm = identifier_of(attr, value)
        if norm in seen:
            duplicates.append(inp.id)
        seen.add(norm)
        attrs = properties_in(t, inp.properties)
        attrs[attr.key] = value
        commands.append({"attributes": attrs, "match": [attr.key, value]})
        described.append(
            Input(f"inputs[{n}] ({prop}={inp.id})", inp.objectWriteTraceId, [*inp.properties, prop])
        )
    if duplicates:
        raise invalid(
            f"Duplicate IDs found in batch input: {duplicates}. IDs must be unique", ids=duplicates
        )
    return commands, described


def _inline_links(schema: AccountSchema, t: ObjectType, inp: Any, n: int) -> list[dict[str, Any]]:
    """A created object's ``associations``: each type id names the other type (and a label)."""
    entries: list[dict[str, Any]] = []
    for j, a in enumerate(inp.associations or ()):
        where = f"inputs[{n}].associations[{j}]"
        target = _record_id(a.to.id)
        if target is None:
            raise invalid(f"{where}.to.id: {a.to.id!r} is not an object id")
        for spec in a.types:
            other, labels = association_types.target_of(schema, t, spec.associationTypeId, where)
            entry: dict[str, Any] = {
                "object_type": other.name,
                "action": "link",
                "records": [{"id": target}],
            }
            if labels:
                entry["labels"] = labels
            entries.append(entry)
    return entries


def create_commands(
    schema: AccountSchema, t: ObjectType, inputs: list[Any]
) -> tuple[list[dict[str, Any]], list[Input]]:
    commands = []
    for n, inp in enumerate(inputs):
        command: dict[str, Any] = {"attributes": properties_in(t, inp.properties)}
        links = _inline_links(schema, t, inp, n)
        if links:
            command["associations"] = links
        commands.append(command)
    described = [
        Input(f"inputs[{n}]", inp.objectWriteTraceId, list(inp.properties))
        for n, inp in enumerate(inputs)
    ]
    return commands, described


def _record_id(given: str) -> int | None:
    return int(given) if given.isdigit() and len(given) <= 18 else None


def update_commands(
    t: ObjectType, inputs: list[Any], id_property: str | None
) -> tuple[list[dict[str, Any]], list[Input]]:
    """Update-only, by internal id or by a unique property: an input that names no record fails
    alone (the engine looks it up inside the apply)."""
    commands: list[dict[str, Any]] = []
    described: list[Input] = []
    for n, inp in enumerate(inputs):
        prop = inp.idProperty or id_property
        attrs = properties_in(t, inp.properties)
        if prop and prop != "hs_object_id":
            attr = id_attribute(t, prop)
            match = [attr.key, value_in(attr, inp.id)]
            commands.append({"attributes": attrs, "match": match, "update_only": True})
        elif (record_id := _record_id(inp.id)) is not None:
            commands.append({"attributes": attrs, "id": record_id})
        else:
            missing = result_error(
                "record_not_found", "id", f"no {t.name} object has id {inp.id!r}"
            )
            commands.append({"reject": missing})
        described.append(
            Input(
                f"inputs[{n}] (id {inp.id})", inp.objectWriteTraceId, list(inp.properties), inp.id
            )
        )
    return commands, described


def archive_ids(given: list[str]) -> list[int]:
    """The ids an archive names (anything else names no object, and is passed over)."""
    return [i for i in (_record_id(g) for g in given) if i is not None]


#: result error codes about property values
VALUE_CODES = frozenset({"invalid_value", "unknown_attribute", "too_many_attributes"})


def input_error(result: Result, described: Input) -> dict[str, Any]:
    """A failed input as an entry of a 207's ``errors``."""
    first = result.errors[0]
    context: dict[str, list[str]] = {}
    if described.trace is not None:
        context["objectWriteTraceId"] = [described.trace]
    if first["code"] == "record_not_found":
        category = "OBJECT_NOT_FOUND"
        message = f"{described.label}: {first['message']}"
        if described.given is not None:
            context["ids"] = [described.given]
    elif first["code"] in VALUE_CODES:
        category = "VALIDATION_ERROR"
        shown = "; ".join(e["message"] for e in result.errors)
        message = f"Property values were not valid for {described.label}: {shown}"
    else:
        category = "VALIDATION_ERROR"
        message = f"{described.label}: {first['message']}"
    return {
        "status": "error",
        "category": category,
        "message": message,
        "context": context,
        "errors": [],
        "links": {},
    }


def batch_answer(
    t: ObjectType,
    outcome: Outcome,
    described: list[Input],
    records: dict[int, dict[str, Any]],
    *,
    started: str | None,
    upsert: bool = False,
) -> tuple[dict[str, Any], bool]:
    """A batch write's answer, and whether any input failed (a 207)."""
    results = []
    errors = []
    for result, inp in zip(outcome.results, described, strict=True):
        if not result.applied or result.id not in records:
            errors.append(input_error(result, inp))
            continue
        out = object_out(t, records[result.id], wanted=inp.wanted)
        if upsert:
            out["new"] = result.status == "created"
        if inp.trace is not None:
            out["objectWriteTraceId"] = inp.trace
        results.append(out)
    return batch_body(results, errors, started), bool(errors)


def batch_body(
    results: list[dict[str, Any]], errors: list[dict[str, Any]], started: str | None
) -> dict[str, Any]:
    """HubSpot's batch answer: ``errors`` and ``numErrors`` only when some inputs failed."""
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "requestedAt": started,
        "startedAt": started,
        "completedAt": clock.iso(clock.now()),
        "links": {},
    }
    if errors:
        body.update(errors=errors, numErrors=len(errors))
    return body


def single_failure(result: Result, described: Input) -> CrmError:
    """A single-object write answers its failure as an error, not a 207."""
    entry = input_error(result, described)
    if entry["category"] == "OBJECT_NOT_FOUND":
        return NotFound(entry["message"], field="objectId")
    return CrmError(entry["message"], field="properties")
