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

from crmbatch.core.contacts.batch import CONTACT_KINDS, KIND_IMPORT, KIND_WRITE
from crmbatch.core.contacts.service import normalise
from crmbatch.core.errors import CrmError, Duplicate, InvalidInput
from crmbatch.core.lists import service as lists
from crmbatch.core.lists import store as lists_store
from crmbatch.core.processes.service import Submission
from crmbatch.core.records.limits import MAX_ATTRIBUTES
from crmbatch.core.records.validate import AttributeChecker
from crmbatch.core.results import Outcome, cap_warnings, error
from crmbatch.core.schema.model import CONTACT_CHANNELS, AccountSchema

CONTACT = "contact"
__all__ = [
    "CONTACT_KINDS",
    "KIND_IMPORT",
    "KIND_WRITE",
    "Checked",
    "ContactInput",
    "refuse_failures",
    "submission",
]
MODES = ("upsert", "update", "create", "new_only")
#: identifiers a contact item may name it by, in the engine's kinds
IDENTITY_KINDS = ("id", "ext_id", *CONTACT_CHANNELS)


@dataclass
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
    contact = schema.types[CONTACT]
    named_lists = {n for i in inputs for n in (*i.list_ids, *i.unlink_list_ids)}
    named_lists.update(clear_lists or ())
    missing = sorted(named_lists - set(lists_store.existing(conn, schema.account_id, named_lists)))
    if missing:
        raise CrmError(f"listIds: list {missing[0]} does not exist", field="listIds")
    checker = AttributeChecker(contact)
    problems: list[tuple[str, str]] = []
    refused: dict[int, list[dict[str, Any]]] = {}
    items = []
    for index, given in enumerate(inputs):
        prefix = where(index)
        dot = f"{prefix}." if prefix else ""
        item_problems: list[tuple[str, str, str]] = []  # (code, field, message)
        if given.mode not in MODES:
            raise ValueError(f"unknown contact write mode {given.mode!r}")
        identity: dict[str, Any] = {}
        for kind_, value in given.identity.items():
            if kind_ not in IDENTITY_KINDS:
                raise ValueError(f"unknown identifier kind {kind_!r}")
            if value is None:
                continue
            try:
                identity[kind_] = normalise(kind_, value)
            except CrmError as e:
                item_problems.append(("invalid_identifier", f"identifiers.{kind_}", e.message))
        if given.reject is None and not identity and not item_problems:
            item_problems.append(
                (
                    "missing_identifier",
                    "identifiers",
                    "give an email, an ext_id or a phone number (SMS, WHATSAPP or "
                    "LANDLINE_NUMBER) to name the contact",
                )
            )
        if len(given.attributes) > MAX_ATTRIBUTES:
            item_problems.append(
                (
                    "too_many_attributes",
                    "attributes",
                    f"at most {MAX_ATTRIBUTES} attributes per contact (got "
                    f"{len(given.attributes)})",
                )
            )
            checked_attrs: dict[str, Any] = {}
            warnings: list[dict[str, Any]] = []
        else:
            result = checker.check(given.attributes)
            item_problems += [
                ("invalid_value", f"attributes.{key}", f"{key}: {msg}")
                for key, msg in result.problems
            ]
            checked_attrs, warnings = result.attributes, result.warnings
        if strict and given.reject is not None:
            raise ValueError("a strict contact write has no rejected items")
        errors = [error(code, f, msg) for code, f, msg in item_problems]
        if given.reject is not None:
            errors.insert(0, given.reject)
        if errors:
            problems += [(f"{dot}{e['field']}", e["message"]) for e in errors]
            refused[index] = errors
        items.append(
            {
                "index": index,
                "identify": identity,
                "attributes": checked_attrs,
                "warnings": cap_warnings([*given.warnings, *warnings]),
                "list_ids": sorted(set(given.list_ids)),
                "unlink_list_ids": sorted(set(given.unlink_list_ids)),
                "mode": given.mode,
                "replace_identifiers": True,
                "skip": errors[0] if errors else None,
                "skip_status": "failed",
            }
        )
    if strict and problems:
        raise InvalidInput(problems)
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
) -> Callable[[Connection, Submission], Submission]:
    """For an import that makes its list (Brevo's ``newList``): made in the accepting
    transaction, and every contact of the import joins it."""

    def make(conn: Connection, submission: Submission) -> Submission:
        made = lists.create(conn, account_id, name, folder_id)
        for item in submission.payload["contacts"]:
            item["list_ids"] = sorted({*item["list_ids"], made["list_id"]})
        return submission

    return make
