"""Brevo's contacts wire ⇄ core: request bodies and import files into contact inputs, contacts,
lists, folders and attributes back into Brevo's shapes.

Brevo's rules kept here:

- attribute names are upper case (``FIRSTNAME``); a name is matched to the contact's attribute
  keys without regard to case;
- ``SMS``, ``WHATSAPP`` and ``LANDLINE_NUMBER`` among the attributes, and ``EMAIL`` and
  ``EXT_ID``, are the contact's identifiers;
- a category attribute's options have integer values (``enumeration``): an option key made of
  digits is its value, any other option is numbered by its position (1, 2, …); a value may name
  an option by that number or by its label, and a multiple choice by its options' texts;
- ``emailBlacklisted`` / ``smsBlacklisted`` are the opt-ins reversed (``true``: opted out).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from typing import Any

from crmbatch.core import clock
from crmbatch.core.contacts.writes import ContactInput
from crmbatch.core.errors import CrmError
from crmbatch.core.results import error
from crmbatch.core.schema.model import CONTACT_OPT_INS, Attribute, ObjectType
from crmbatch.core.values import MAX_TEXT, Ignored, ValueProblem, from_text
from crmbatch.dialects.brevo.translate import contact_out

#: the attributes that are a contact's numbers (identifiers)
CHANNELS = ("SMS", "WHATSAPP", "LANDLINE_NUMBER")
#: attribute names (and import columns) that name a contact: Brevo's → the engine's kind
IDENTITY_NAMES = {"EMAIL": "EMAIL", "EXT_ID": "ext_id", **{c: c for c in CHANNELS}}
#: the contact's built-in attributes Brevo does not list among its attributes
HIDDEN = frozenset({"EMAIL", *CONTACT_OPT_INS})


def attribute_key(t: ObjectType, name: str) -> str:
    """The contact attribute ``name`` means (its key as given when none matches)."""
    if name in t.attributes:
        return name
    upper = name.upper()
    if upper in t.attributes:
        return upper
    for key in t.attributes:
        if key.upper() == upper:
            return key
    return name


def option_values(attr: Attribute) -> dict[int, str]:
    """Brevo's integer value of each option of a category → the option key."""
    return {
        int(o.key) if o.key.isdigit() else position: o.key
        for position, o in enumerate(attr.options, start=1)
    }


def _option(attr: Attribute, value: Any) -> Any:
    """An option named the Brevo way (its number or label) → its key; anything else as it is."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        key = option_values(attr).get(int(value))
        if key is not None:
            return key
    if isinstance(value, str):
        text = value.strip()
        if text in attr.option_keys:
            return text
        for o in attr.options:
            if o.label.lower() == text.lower():
                return o.key
    return value


def engine_value(attr: Attribute | None, value: Any) -> Any:
    """A value as Brevo sends it → as the engine takes it (options by key)."""
    if attr is None or value is None:
        return value
    if attr.type == "category":
        return _option(attr, value)
    if attr.type == "multiple_category" and isinstance(value, list):
        return [_option(attr, v) for v in value]
    return value


def split_attributes(
    t: ObjectType, attributes: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(identifiers given among the attributes, the other attributes by key)."""
    identity: dict[str, Any] = {}
    attrs: dict[str, Any] = {}
    for name, value in attributes.items():
        kind = IDENTITY_NAMES.get(name.upper())
        if kind is not None and value is not None:
            identity[kind] = value
            continue
        key = attribute_key(t, name) if kind is None else name.upper()
        attrs[key] = engine_value(t.attributes.get(key), value)
    return identity, attrs


def _opt_ins(email_blacklisted: bool | None, sms_blacklisted: bool | None) -> dict[str, bool]:
    out = {}
    if email_blacklisted is not None:
        out["EMAIL_OPT_IN"] = not email_blacklisted
    if sms_blacklisted is not None:
        out["SMS_OPT_IN"] = not sms_blacklisted
    return out


def create_input(t: ObjectType, body: Any) -> ContactInput:
    """``POST /contacts``: a new contact, or (``updateEnabled``) the one it names updated."""
    named, attrs = split_attributes(t, body.attributes)
    identity = {**named, "EMAIL": body.email or named.get("EMAIL")}
    if body.ext_id is not None:
        identity["ext_id"] = body.ext_id
    return ContactInput(
        identity=identity,
        attributes={**attrs, **_opt_ins(body.emailBlacklisted, body.smsBlacklisted)},
        list_ids=list(body.listIds),
        mode="upsert" if body.updateEnabled else "create",
    )


def update_input(t: ObjectType, contact_id: int, body: Any) -> ContactInput:
    """``PUT /contacts/{identifier}`` (and each contact of a batch update): the contact found,
    its identifiers and attributes changed as given."""
    if getattr(body, "forceMerge", None):
        raise CrmError(
            "forceMerge: crmbatch never merges contacts; an identifier another contact holds "
            "stays with it",
            field="forceMerge",
        )
    named, attrs = split_attributes(t, body.attributes)
    if body.ext_id is not None:
        named["ext_id"] = body.ext_id
    return ContactInput(
        identity={"id": contact_id, **named},
        attributes={**attrs, **_opt_ins(body.emailBlacklisted, body.smsBlacklisted)},
        list_ids=list(body.listIds),
        unlink_list_ids=list(body.unlinkListIds),
        mode="update",
    )


def batch_named(contact: Any) -> tuple[str, Any]:
    """How one contact of ``POST /contacts/batch`` is named: (kind, value)."""
    for field, kind in (("id", "id"), ("email", "EMAIL"), ("ext_id", "ext_id"), ("sms", "SMS")):
        value = getattr(contact, field)
        if value is not None:
            return kind, value
    raise CrmError("name the contact by id, email, ext_id or sms", field="contacts")


# -- import ------------------------------------------------------------------------------------

MAX_IMPORT_BYTES = 10 * 1024 * 1024


def _delimiter(header: str) -> str:
    return ";" if ";" in header or "," not in header else ","


def csv_rows(text: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header of a CSV import and its rows ``(line number, cells)``; blank lines are passed
    over. Brevo's files separate cells with ``;`` (``,`` is taken when the header has no ``;``)."""
    lines = text.lstrip("\ufeff")
    first = lines.split("\n", 1)[0]
    if not first.strip():
        raise CrmError(
            "fileBody: the first line must name the columns (EMAIL, SMS, EXT_ID, … and "
            "attribute names)",
            field="fileBody",
        )
    reader = csv.reader(io.StringIO(lines), delimiter=_delimiter(first), strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except csv.Error as e:
        raise CrmError(f"fileBody: line 1: {e}", field="fileBody") from None
    if not any(h.upper() in IDENTITY_NAMES for h in header):
        raise CrmError(
            f"fileBody: no column names the contacts; give one of {', '.join(IDENTITY_NAMES)} "
            f"(the header has {', '.join(repr(h) for h in header)})",
            field="fileBody",
        )
    blank = [i for i, h in enumerate(header) if not h]
    if blank:
        raise CrmError(f"fileBody: column {blank[0] + 1} of the header has no name")

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for cells in reader:
                if any(c.strip() for c in cells):
                    yield reader.line_num, cells
        except csv.Error as e:
            raise CrmError(f"fileBody: line {reader.line_num}: {e}", field="fileBody") from None

    return header, rows()


def cell_value(attr: Attribute | None, text: str) -> Any:
    """A cell's text as the attribute's value; text that does not convert is passed on as it is
    (the engine's check then names the problem the same way for every way in)."""
    if attr is None:
        return text
    try:
        return from_text(attr, str(engine_value(attr, text.strip())))
    except (ValueProblem, Ignored):
        return text


def _text_cell(text: str) -> str:
    """:func:`cell_value` for a text attribute, in one step (every text cell of an import)."""
    value = text.strip()
    return value if len(value) <= MAX_TEXT and "\x00" not in value else text


def _cell_reader(attr: Attribute | None) -> Callable[[str], Any]:
    """How a column's cells become values: :func:`cell_value`, taken apart once per column."""
    if attr is None:
        return str
    if attr.type == "text":
        return _text_cell
    return lambda text: cell_value(attr, text)


def file_inputs(
    t: ObjectType, text: str, *, empty_clears: bool, extra: dict[str, Any], mode: str
) -> list[ContactInput]:
    """One contact input per row of a CSV import."""
    header, rows = csv_rows(text)
    columns = [
        (
            IDENTITY_NAMES.get(h.upper()),
            attribute_key(t, h) if h.upper() not in IDENTITY_NAMES else h,
        )
        for h in header
    ]
    readers = [_cell_reader(t.attributes.get(key)) for _, key in columns]
    width = len(header)
    out = []
    for line, cells in rows:
        identity: dict[str, Any] = {}
        attrs: dict[str, Any] = {}
        reject = None
        if len(cells) > width:
            reject = error(
                "malformed_row",
                "row",
                f"line {line} has {len(cells)} cells, the header names {width} columns",
            )
        for (kind, key), read, text in zip(columns, readers, cells, strict=False):
            stripped = text.strip()
            if not stripped:
                if empty_clears and kind is None:
                    attrs[key] = None
            elif kind is not None:
                identity[kind] = stripped
            else:
                attrs[key] = read(text)
        out.append(
            ContactInput(
                identity=identity,
                attributes={**attrs, **extra} if extra else attrs,
                mode=mode,
                reject=reject,
            )
        )
    return out


def json_inputs(
    t: ObjectType, rows: list[Any], *, empty_clears: bool, extra: dict[str, Any], mode: str
) -> list[ContactInput]:
    """One contact input per item of an import's ``jsonBody``."""
    out = []
    for row in rows:
        named, attrs = split_attributes(t, row.attributes)
        if not empty_clears:
            attrs = {k: v for k, v in attrs.items() if v is not None and v != ""}
        identity = {**named, "EMAIL": row.email or named.get("EMAIL")}
        out.append(ContactInput(identity=identity, attributes={**attrs, **extra}, mode=mode))
    return out


def blacklists(email: bool, sms: bool) -> dict[str, bool]:
    """What an import's ``emailBlacklist`` / ``smsBlacklist`` set on every contact."""
    out = {}
    if email:
        out["EMAIL_OPT_IN"] = False
    if sms:
        out["SMS_OPT_IN"] = False
    return out


# -- answers -------------------------------------------------------------------------------------


def brevo_value(attr: Attribute | None, value: Any) -> Any:
    """A stored value the way Brevo shows it: a category by its number, a multiple choice by
    its options' texts."""
    if attr is None or value is None:
        return value
    if attr.type == "category":
        numbers = {key: n for n, key in option_values(attr).items()}
        return numbers.get(value, value)
    if attr.type == "multiple_category" and isinstance(value, list):
        labels = {o.key: o.label for o in attr.options}
        return [labels.get(v, v) for v in value]
    return value


def contact(t: ObjectType, c: dict[str, Any]) -> dict[str, Any]:
    """A contact as ``GET /contacts/{identifier}`` shows it."""
    shown = {k: brevo_value(t.attributes.get(k), v) for k, v in c["attributes"].items()}
    return contact_out({**c, "attributes": shown})


def contact_row(t: ObjectType, c: dict[str, Any]) -> dict[str, Any]:
    """A contact as Brevo's listings show it (``GET /contacts``, a list's contacts)."""
    out = contact(t, c)
    del out["statistics"]
    return out


def list_out(row: dict[str, Any], *, detail: bool = False) -> dict[str, Any]:
    out = {
        "id": row["id"],
        "name": row["name"],
        "totalBlacklisted": row["blacklisted"],
        "totalSubscribers": row["members"],
        "uniqueSubscribers": row["members"],
        "folderId": row["folder_id"],
    }
    if detail:
        out.update(createdAt=clock.iso(row["created_at"]), dynamicList=False, campaignStats=[])
    return out


def folder_out(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "totalBlacklisted": row["blacklisted"],
        "totalSubscribers": row["members"],
        "uniqueSubscribers": row["unique_members"],
    }


#: the engine's attribute types → Brevo's attribute ``type``
TYPES_OUT = {
    "text": "text",
    "email": "text",
    "phone": "text",
    "number": "float",
    "boolean": "boolean",
    "date": "date",
    "datetime": "date",
    "multiple_category": "multiple-choice",
    "category": "text",
}
#: Brevo's ``type`` of a normal attribute → the engine's
TYPES_IN = {"text": "text", "date": "date", "float": "number", "boolean": "boolean", "id": "text"}


def attribute_out(a: Attribute) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": a.key,
        "category": "category" if a.type == "category" else "normal",
        "type": TYPES_OUT.get(a.type, "text"),
    }
    if a.type == "category":
        out["enumeration"] = [
            {"value": value, "label": next(o.label for o in a.options if o.key == key)}
            for value, key in option_values(a).items()
        ]
    if a.type == "multiple_category":
        out["multiCategoryOptions"] = [o.label for o in a.options]
    return out


def attributes_out(t: ObjectType) -> list[dict[str, Any]]:
    return [attribute_out(a) for a in t.attributes.values() if a.key not in HIDDEN]


def option_key(text: str) -> str:
    """An option key for a multiple-choice option given by its text (the text itself when it
    is a valid key)."""
    key = re.sub(r"[^A-Za-z0-9_\-]+", "_", text.strip()).strip("_")[:255]
    return key or "option"


def attribute_spec(category: str, body: Any) -> dict[str, Any]:
    """A contact attribute of the schema document, from ``POST /contacts/attributes``."""
    if category == "category":
        if not body.enumeration:
            raise CrmError(
                "enumeration: a category attribute needs its options", field="enumeration"
            )
        return {"type": "category", "options": enumeration_options(body.enumeration)}
    if category != "normal":
        raise CrmError(
            f"crmbatch keeps normal and category contact attributes, not {category} ones",
            field="attributeCategory",
        )
    if body.type == "multiple-choice":
        if not body.multiCategoryOptions:
            raise CrmError(
                "multiCategoryOptions: a multiple-choice attribute needs its options",
                field="multiCategoryOptions",
            )
        return {"type": "multiple_category", "options": text_options(body.multiCategoryOptions)}
    kind = TYPES_IN.get(body.type)
    if kind is None:
        raise CrmError(
            f"type {body.type!r} is not one of a normal attribute's: text, date, float, boolean, "
            "multiple-choice",
            field="type",
        )
    return {"type": kind}


def enumeration_options(items: list[Any]) -> list[dict[str, str]]:
    values = [i.value for i in items]
    if len(set(values)) != len(values):
        raise CrmError("enumeration: each value may appear once", field="enumeration")
    return [{"key": str(i.value), "label": i.label} for i in items]


def text_options(texts: list[str]) -> list[dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for text in texts:
        key = option_key(text)
        if key in out:
            raise CrmError(f"multiCategoryOptions: {text!r} is given twice", field="options")
        out[key] = {"key": key, "label": text.strip()}
    return list(out.values())
