"""Contact identity resolution: which contact a set of identifiers names, one rule for every
dialect (Brevo events, MainBrainer contacts, HubSpot contacts).

An *identity* is a mapping of identifier kinds to values, already normalised by the value rules
(emails lower-cased, phones in E.164)::

    {"id": 42?, "EMAIL": "jane@example.com"?, "ext_id": "crm-7"?, "SMS": "+33612345678"?,
     "WHATSAPP": "+33612345678"?, "LANDLINE_NUMBER": "+33140000000"?}

The rule:

1. ``id`` (Brevo's ``contact_id``) wins: the contact with that id, or no contact at all (the
   caller fails the item; a contact is never created with a chosen id).
2. Otherwise the first identifier, in :data:`PRECEDENCE`, that belongs to a contact names it.
3. No identifier belongs to anyone: a new contact, which gets all of them.
4. The winner gets each other identifier that nobody holds, when it has none of that kind yet.
   An identifier held by another contact stays there (it is never stolen), and one the winner
   already holds with a different value is kept; both are reported as warnings.

With ``replace`` (MainBrainer, whose identifiers are also fields to update) rule 4 changes in one
way: the winner's own value of a kind is replaced by the one given. Stealing is still refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

#: identifier kinds, most trusted first, after ``id``; ``ext_id`` is the record's own ext_id,
#: the others are the contact's built-in channel attributes
PRECEDENCE = ("EMAIL", "ext_id", "SMS", "WHATSAPP", "LANDLINE_NUMBER")
KINDS = ("id", *PRECEDENCE)

C = TypeVar("C")


@dataclass(slots=True)
class Resolution(Generic[C]):
    #: the contact named, or None when a new one is to be created
    contact: C | None
    #: the kind that named it (``None`` for a new contact)
    matched_by: str | None
    #: identifiers to give the contact: kind → value
    claims: dict[str, Any] = field(default_factory=dict)
    warnings: list[dict[str, Any]] = field(default_factory=list)


class ContactNotFound(Exception):
    def __init__(self, contact_id: int) -> None:
        super().__init__(f"no contact has id {contact_id}")
        self.contact_id = contact_id


def resolve(
    identity: dict[str, Any],
    *,
    by_id: Callable[[int], C | None],
    owner: Callable[[str, Any], C | None],
    held: Callable[[C, str], Any],
    label: Callable[[C], Any],
    replace: bool = False,
) -> Resolution[C]:
    """Resolve ``identity`` against the contacts as they stand now.

    ``by_id(id)`` and ``owner(kind, value)`` find contacts, ``held(contact, kind)`` is the value
    a contact holds for a kind (or None), ``label(contact)`` names a contact in warnings.
    Raises :class:`ContactNotFound` for an unknown ``id``.
    """
    contact: C | None = None
    matched_by: str | None = None
    # who holds each identifier given, looked up once: the winner is the first holder found
    given = [(kind, value) for kind in PRECEDENCE if (value := identity.get(kind)) is not None]
    holders = {kind: owner(kind, value) for kind, value in given}
    if identity.get("id") is None and all(h is None for h in holders.values()):  # a new one
        return Resolution(None, None, dict(given))
    if identity.get("id") is not None:
        contact = by_id(identity["id"])
        if contact is None:
            raise ContactNotFound(identity["id"])
        matched_by = "id"
    else:
        for kind, _ in given:
            if holders[kind] is not None:
                contact, matched_by = holders[kind], kind
                break
    out: Resolution[C] = Resolution(contact, matched_by)
    for kind, value in given:
        if kind == matched_by:
            continue
        other = holders[kind]
        if other is not None and other is not contact:
            out.warnings.append(
                {
                    "code": "identifier_conflict",
                    "field": f"identifiers.{kind}",
                    "message": (
                        f"{kind} {value!r} belongs to contact {label(other)}, not to the contact "
                        f"{_named(contact, matched_by, label)}; it was left where it is"
                    ),
                    "suggestion": None,
                }
            )
            continue
        if other is not None:  # the contact holds it already
            continue
        current = None if contact is None else held(contact, kind)
        if contact is not None and current is not None and not replace:
            out.warnings.append(
                {
                    "code": "identifier_kept",
                    "field": f"identifiers.{kind}",
                    "message": (
                        f"contact {label(contact)} keeps its {kind} {current!r}; "
                        f"{value!r} was not applied"
                    ),
                    "suggestion": None,
                }
            )
            continue
        out.claims[kind] = value
    return out


def _named(contact: Any, matched_by: str | None, label: Callable[[Any], Any]) -> str:
    if contact is None:
        return "created for this item"
    return f"{label(contact)} found by {matched_by}"
