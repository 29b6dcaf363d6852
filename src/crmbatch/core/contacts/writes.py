"""Contact writes of the contacts APIs (Brevo's create, update, batch update, list members and
import), checked and turned into the items of a contacts process.

A dialect hands over one :class:`ContactInput` per contact: the identifiers that name it (raw
values: they are normalised here), attribute values already typed, the lists it joins and
leaves, and how it may be matched (``mode``, see :mod:`crmbatch.core.records.plan`). The items
are those of :mod:`crmbatch.core.contacts.batch` (the same handler applies them, in the
contacts' partition, in order with events and MainBrainer's batches).

Two ways to check: ``strict`` (a synchronous write: any problem refuses the request, naming every
field, and nothing is written) or item by item (an import: a bad row is skipped with its reasons
and the others are applied).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from crmbatch.core.contacts.batch import CONTACT_KINDS, KIND_IMPORT, KIND_IMPORT_PART, KIND_WRITE
from crmbatch.core.contacts.service import normalise
from crmbatch.core.errors import CrmError, Duplicate, InvalidInput, Unprocessable
from crmbatch.core.lists import service as lists
from crmbatch.core.lists import store as lists_store
from crmbatch.core.processes.service import Submission
from crmbatch.core.records.limits import MAX_ATTRIBUTES
from crmbatch.core.records.validate import AttributeChecker, typed_check
from crmbatch.core.results import Outcome, cap_warnings, error
from crmbatch.core.schema.model import CONTACT_CHANNELS, AccountSchema

CONTACT = "contact"
__all__ = [
    "CONTACT_KINDS",
    "IMPORT_PART",
    "KIND_IMPORT",
    "KIND_IMPORT_PART",
    "KIND_WRITE",
    "Checked",
    "ContactInput",
    "check_part",
    "import_parts",
    "joining_new_list",
    "refuse_failures",
    "submission",
]
MODES = ("upsert", "update", "create", "new_only")
#: identifiers a contact item may name it by, in the engine's kinds
IDENTITY_KINDS = ("id", "ext_id", *CONTACT_CHANNELS)


@dataclass(slots=True)
class ContactInput:
    """One contact to write, in the engine's terms."""

    identity: dict[str, Any]
    attributes: dict[str, Any] = field(default_factory=dict)
    list_ids: list[int] = field(default_factory=list)
    unlink_list_ids: list[int] = field(default_factory=list)
    mode: str = "upsert"
    #: the dialect could not read the item: it is skipped with this error (never strict)
    reject: dict[str, Any] | None = None
    #: what the dialect left out of it, said in its result
    warnings: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Checked:
    submission: Submission
    #: the problems of each item refused (item by item: they are skipped), by index
    refused: dict[int, list[dict[str, Any]]]


def _where(index: int) -> str:
    return f"contacts[{index}]"


def _identity(given: ContactInput) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The identifiers of an input normalised, and the errors of those that cannot be."""
    identity: dict[str, Any] = {}
    errors = []
    for kind, value in given.identity.items():
        if kind not in IDENTITY_KINDS:
            raise ValueError(f"unknown identifier kind {kind!r}")
        if value is None:
            continue
        try:
            identity[kind] = normalise(kind, value)
        except CrmError as e:
            errors.append(error("invalid_identifier", f"identifiers.{kind}", e.message))
    if given.reject is None and not identity and not errors:
        errors.append(
            error(
                "missing_identifier",
                "identifiers",
                "give an email, an ext_id or a phone number (SMS, WHATSAPP or LANDLINE_NUMBER) "
                "to name the contact",
            )
        )
    return identity, errors


def _item(
    index: int, given: ContactInput, checker: AttributeChecker, *, clean: bool = False
) -> dict[str, Any]:
    """One stored item of a contacts process (``skip``: its first error, when it has any);
    ``clean``: its attributes are known valid as they are (:class:`TypedCheck`)."""
    if given.mode not in MODES:
        raise ValueError(f"unknown contact write mode {given.mode!r}")
    identity, errors = _identity(given)
    attributes: dict[str, Any] = {}
    warnings: list[dict[str, Any]] = []
    if clean:
        attributes = given.attributes
    elif len(given.attributes) > MAX_ATTRIBUTES:
        message = f"at most {MAX_ATTRIBUTES} attributes per contact (got {len(given.attributes)})"
        errors.append(error("too_many_attributes", "attributes", message))
    else:
        result = checker.check(given.attributes)
        errors += [
            error("invalid_value", f"attributes.{key}", f"{key}: {msg}")
            for key, msg in result.problems
        ]
        attributes, warnings = result.attributes, result.warnings
    if given.reject is not None:
        errors.insert(0, given.reject)
    return {
        "index": index,
        "identify": identity,
        "attributes": attributes,
        "warnings": cap_warnings([*given.warnings, *warnings])
        if given.warnings or warnings
        else [],
        "list_ids": _distinct(given.list_ids),
        "unlink_list_ids": _distinct(given.unlink_list_ids),
        "mode": given.mode,
        "replace_identifiers": True,
        "skip": errors[0] if errors else None,
        "skip_status": "failed",
        "errors": errors,
    }


def _distinct(ids: list[int]) -> list[int]:
    """The ids ascending, each once (an import names its one list on every row)."""
    return list(ids) if len(ids) < 2 else sorted(set(ids))


def _check_lists(
    conn: Connection, account_id: int, inputs: list[ContactInput], clear_lists: list[int]
) -> None:
    """Every list named must exist (a request naming another is refused)."""
    named_lists = {n for i in inputs for n in (*i.list_ids, *i.unlink_list_ids)}
    named_lists.update(clear_lists)
    missing = sorted(named_lists - set(lists_store.existing(conn, account_id, named_lists)))
    if missing:
        raise Unprocessable(f"listIds: list {missing[0]} does not exist", field="listIds")


def _checked_items(
    schema: AccountSchema, inputs: list[ContactInput], start: int = 0
) -> list[dict[str, Any]]:
    """The stored items of ``inputs`` (numbered from ``start``), each with its ``errors``."""
    contact = schema.types[CONTACT]
    checker = AttributeChecker(contact)
    clean = typed_check(contact).clean([given.attributes for given in inputs])
    return [_item(start + index, given, checker, clean=clean) for index, given in enumerate(inputs)]


def submission(
    conn: Connection,
    schema: AccountSchema,
    inputs: list[ContactInput],
    *,
    kind: str = KIND_WRITE,
    strict: bool = True,
    where: Callable[[int], str] = _where,
    clear_lists: list[int] | None = None,
) -> Checked:
    """Check contact inputs and make them a submission of ``kind``.

    ``where(index)`` names an item in messages (``contacts[3]``; ``""`` for a single contact).
    Every list named must exist (a request naming another is refused, whatever ``strict``).
    """
    if strict and any(given.reject is not None for given in inputs):
        raise ValueError("a strict contact write has no rejected items")
    contact = schema.types[CONTACT]
    _check_lists(conn, schema.account_id, inputs, list(clear_lists or ()))
    items = _checked_items(schema, inputs)
    refused = {item["index"]: item.pop("errors") for item in items if item["errors"]}
    for item in items:
        item.pop("errors", None)
    if strict and refused:
        raise InvalidInput(
            [
                (".".join(p for p in (where(index), e["field"]) if p), e["message"])
                for index, errors in refused.items()
                for e in errors
            ]
        )
    payload = {
        "fingerprint": contact.fingerprint(),
        "contacts": items,
        "clear_lists": sorted(set(clear_lists or ())),
    }
    return Checked(Submission(kind, CONTACT, payload, len(items)), refused)


def refuse_failures(outcome: Outcome, where: Callable[[int], str] = _where) -> None:
    """A synchronous contact write is all or nothing: when any item failed, raise (the caller's
    transaction then writes nothing) naming each failure; a contact that exists already where
    one was to be created is Brevo's own message."""
    failed = [r for r in outcome.results if r.status == "failed"]
    if not failed:
        return
    if any(e["code"] == "duplicate_contact" for r in failed for e in r.errors):
        raise Duplicate("Contact already exist", field="email")
    problems = []
    for r in failed:
        prefix = where(r.index)
        for e in r.errors:
            path = ".".join(p for p in (prefix, e.get("field") or "") if p)
            problems.append((path, e["message"]))
    raise InvalidInput(problems)


def joining_new_list(
    account_id: int, name: str, folder_id: int | None
) -> Callable[[Connection, list[Submission]], list[Submission]]:
    """For an import that makes its list (Brevo's ``newList``): made in the accepting
    transaction, and every contact of the import joins it."""

    def make(conn: Connection, submissions: list[Submission]) -> list[Submission]:
        made = lists.create(conn, account_id, name, folder_id)
        for submission in submissions:
            for item in submission.payload.get("contacts", submission.payload.get("rows", [])):
                item["list_ids"] = sorted({*item["list_ids"], made["list_id"]})
        return submissions

    return make


#: the most rows one part of an import holds: each part is applied in a transaction of its own
IMPORT_PART = 1000


def import_parts(
    conn: Connection, schema: AccountSchema, inputs: list[ContactInput]
) -> tuple[list[Submission], Submission]:
    """An import's rows as parts of at most :data:`IMPORT_PART` rows and the final process that
    joins them. The lists and the rows are checked here, item by item as :func:`submission`
    checks them (a bad row is skipped with its reasons when its part applies): the server checks
    while the worker applies the parts before, so the worker applies a part as it applies every
    other contacts batch."""
    _check_lists(conn, schema.account_id, inputs, [])
    parts = [
        Submission(
            KIND_IMPORT_PART,
            CONTACT,
            _part_payload(schema, inputs[start : start + IMPORT_PART], start),
            len(inputs[start : start + IMPORT_PART]),
        )
        for start in range(0, len(inputs), IMPORT_PART)
    ]
    final = Submission(KIND_IMPORT, CONTACT, {"object_type": CONTACT}, len(inputs))
    return parts, final


def check_part(schema: AccountSchema, payload: dict[str, Any]) -> dict[str, Any]:
    """An import part's payload with its rows checked (as :func:`submission` checks them, item
    by item); a payload already checked is returned as it is. Parts accepted before the rows were
    checked at accept stored them as given (``rows``): those still queued are checked here."""
    if "rows" not in payload:
        return payload
    inputs = [ContactInput(**row) for row in payload["rows"]]
    return _part_payload(schema, inputs, int(payload.get("start", 0)))


def _part_payload(schema: AccountSchema, inputs: list[ContactInput], start: int) -> dict[str, Any]:
    """The payload of an import part: its rows checked item by item, numbered from ``start``
    (a row with errors is skipped with the first of them)."""
    items = _checked_items(schema, inputs, start=start)
    for item in items:
        del item["errors"]
    contact = schema.types[CONTACT]
    return {"fingerprint": contact.fingerprint(), "contacts": items, "clear_lists": []}
