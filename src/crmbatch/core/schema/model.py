"""The in-memory schema of one account, as the engine uses it."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ATTRIBUTE_TYPES = (
    "text",
    "number",
    "boolean",
    "date",
    "datetime",
    "category",
    "multiple_category",
    "email",
    "phone",
)
OPTION_TYPES = ("category", "multiple_category")
#: types whose searchable attributes get a search index
INDEXED_TYPES = frozenset({"text", "number", "date", "datetime", "category", "email", "phone"})
#: types whose values may be declared ``unique`` (usable as an identifier)
UNIQUE_TYPES = ("text", "number", "email", "phone")

TYPE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
ATTRIBUTE_KEY = re.compile(r"^[A-Za-z0-9_]{1,255}$")
OPTION_KEY = re.compile(r"^[A-Za-z0-9_\-]{1,255}$")
MAX_ATTRIBUTES = 500

#: exist in every account, with built-in attributes; each accepts added attributes. ``company``
#: and ``deal`` are HubSpot's companies (0-2) and deals (0-3), Brevo's companies and deals
SYSTEM_TYPES = ("contact", "company", "deal")
#: the primary attribute of the system types that have one
SYSTEM_PRIMARY = {"company": "name", "deal": "dealname"}
#: system types whose records an association may name by their id given as ``ext_id`` (Brevo:
#: "to associate companies or deals, use ext_id … filled with the Brevo-generated ID")
ID_AS_EXT_ID = frozenset({"company", "deal"})
#: associations every account has between its system types
SYSTEM_PAIRS = (("contact", "company"), ("contact", "deal"), ("company", "deal"))
#: names Brevo reserves for its own objects: never usable as custom types
RESERVED_TYPES = ("contact", "company", "deal", "task", "note", "store", "order", "ticket")


@dataclass(frozen=True)
class Option:
    key: str
    label: str


@dataclass(frozen=True)
class Attribute:
    id: str
    key: str
    label: str
    type: str
    unique: bool = False
    options: tuple[Option, ...] = ()
    #: part of a system type in every account: not in the schema document, not removable
    builtin: bool = False
    #: derived from ``options``, kept for the hot path
    option_keys: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "option_keys", frozenset(o.key for o in self.options))


#: a contact's channels: unique in the account, each usable to identify the contact. The names
#: are Brevo's contact attribute names; ``EXT_ID`` is the record's ``ext_id``.
CONTACT_CHANNELS = ("EMAIL", "SMS", "WHATSAPP", "LANDLINE_NUMBER")
#: a contact's consent per channel (MainBrainer's opt-ins; Brevo shows ``False`` as blacklisted)
CONTACT_OPT_INS = ("EMAIL_OPT_IN", "SMS_OPT_IN")
_BUILTIN_NAMESPACE = uuid.UUID("5f0b8a4e-3c1d-4d2a-9c59-3f8e0c1b7a10")


def _builtin(type_name: str, key: str, label: str, kind: str, *, unique: bool = True) -> Attribute:
    """A built-in attribute; its id is the same in every account (MainBrainer's propertyId)."""
    ident = str(uuid.uuid5(_BUILTIN_NAMESPACE, f"{type_name}.{key}"))
    return Attribute(id=ident, key=key, label=label, type=kind, unique=unique, builtin=True)


BUILTIN_ATTRIBUTES: dict[str, tuple[Attribute, ...]] = {
    "contact": (
        _builtin("contact", "EMAIL", "Email", "email"),
        _builtin("contact", "SMS", "SMS", "phone"),
        _builtin("contact", "WHATSAPP", "WhatsApp", "phone"),
        _builtin("contact", "LANDLINE_NUMBER", "Landline number", "phone"),
        _builtin("contact", "EMAIL_OPT_IN", "Email opt-in", "boolean", unique=False),
        _builtin("contact", "SMS_OPT_IN", "SMS opt-in", "boolean", unique=False),
    ),
    "company": (
        _builtin("company", "name", "Company name", "text", unique=False),
        _builtin("company", "domain", "Company domain name", "text", unique=False),
    ),
    "deal": (
        _builtin("deal", "dealname", "Deal name", "text", unique=False),
        _builtin("deal", "amount", "Amount", "number", unique=False),
        _builtin("deal", "dealstage", "Deal stage", "text", unique=False),
        _builtin("deal", "pipeline", "Pipeline", "text", unique=False),
        _builtin("deal", "closedate", "Close date", "datetime", unique=False),
    ),
}


@dataclass
class ObjectType:
    id: int
    name: str
    label: str
    primary_attribute: str | None
    is_system: bool
    attributes: dict[str, Attribute] = field(default_factory=dict)
    #: names of the types this one may be associated with (symmetric)
    associations: set[str] = field(default_factory=set)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    #: presentation: plural, description, searchable, secondary, groups, attribute_groups
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def searchable(self) -> list[str]:
        """The attributes a text search looks in: those the schema names, else the unique ones
        and the primary one."""
        named = self.settings.get("searchable")
        if named is not None:
            return [k for k in named if k in self.attributes]
        keys = [a.key for a in self.unique_attributes]
        if self.primary_attribute and self.primary_attribute not in keys:
            keys.append(self.primary_attribute)
        return keys

    @property
    def indexed(self) -> dict[str, str]:
        """The attributes search keeps an index of (key → type): the searchable ones the schema
        names whose type an index can narrow (not a boolean, not a multiple choice)."""
        return {
            key: self.attributes[key].type
            for key in self.settings.get("searchable") or ()
            if key in self.attributes and self.attributes[key].type in INDEXED_TYPES
        }

    @property
    def unique_attributes(self) -> list[Attribute]:
        return [a for a in self.attributes.values() if a.unique]

    def fingerprint(self) -> str:
        """Changes whenever a value valid for this type could stop being valid (or the reverse)."""
        parts = sorted(
            (a.key, a.type, a.unique, tuple((o.key, o.label) for o in a.options))
            for a in self.attributes.values()
        )
        return hashlib.sha1(repr(parts).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Pair:
    """An association defined between two types."""

    id: int
    #: the name of the pair's first type (the direction its links are read in by default)
    first: str
    created_at: datetime | None = None


@dataclass(frozen=True)
class Label:
    """A named kind of link between the records of an associated pair of types. It reads
    ``label`` from ``from_type``'s side, ``inverse_label`` (if any) from the other."""

    id: int
    pair: frozenset[str]
    from_type: str
    name: str
    label: str
    inverse_label: str | None = None

    def seen_from(self, type_name: str) -> str:
        """The label as the side ``type_name`` reads it."""
        if self.inverse_label is not None and type_name != self.from_type:
            return self.inverse_label
        return self.label


@dataclass
class AccountSchema:
    account_id: int
    types: dict[str, ObjectType] = field(default_factory=dict)
    #: association labels by id
    labels: dict[int, Label] = field(default_factory=dict)
    #: each associated pair of types → its definition
    pairs: dict[frozenset[str], Pair] = field(default_factory=dict)

    def labels_between(self, a: str, b: str) -> list[Label]:
        pair = frozenset((a, b))
        return [label for label in self.labels.values() if label.pair == pair]

    def by_id(self, type_id: int) -> ObjectType | None:
        for t in self.types.values():
            if t.id == type_id:
                return t
        return None
