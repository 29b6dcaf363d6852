"""Check one event before it is stored: name, date, identity, properties, contact properties.

An event (dialect-neutral)::

    {"name": "order_created", "date": "2024-01-24T17:39:57+01:00" | None,
     "identity": {"id"?, "EMAIL"?, "ext_id"?, "SMS"?, "WHATSAPP"?, "LANDLINE_NUMBER"?},
     "properties": {...} | None, "contact_properties": {...} | None,
     "object": {"type": "vehicle", "id": "12" | None, "ext_id": "car-1" | None} | None}

A bad event fails alone, with every problem named by field; the others of its batch go on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from crmbatch.core import clock
from crmbatch.core.contacts.identity import KINDS
from crmbatch.core.records.validate import AttributeChecker
from crmbatch.core.values import ValueProblem, describe, email, phone

NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
PROPERTY_KEY = NAME
MAX_PROPERTIES_BYTES = 50 * 1024
MAX_DEPTH = 10
MAX_EVENTS = 200
MAX_INT64 = 2**63 - 1
_SCALARS = (int, float, bool)


@dataclass
class CheckedEvent:
    event: dict[str, Any]
    problems: list[tuple[str, str]] = field(default_factory=list)


def event_date(value: Any) -> datetime:
    """An ISO 8601 date-time with an offset (``Z`` counts), as an aware datetime."""
    if isinstance(value, str) and len(value) >= 16:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    raise ValueProblem(
        f"expected an ISO 8601 date-time with an offset (e.g. 2024-01-24T17:39:57+01:00), "
        f"got {describe(value)}"
    )


def _identity(raw: Any, fields: dict[str, str], problems: list[tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not isinstance(raw, dict):
        problems.append(("identifiers", "must be an object"))
        return out
    for kind in KINDS:
        value = raw.get(kind)
        if value is None:
            continue
        where = fields.get(kind, f"identifiers.{kind}")
        try:
            if kind == "id":
                if isinstance(value, bool) or not isinstance(value, int) or not value >= 1:
                    raise ValueProblem(f"expected a contact id (a positive integer), got {value!r}")
                if value > MAX_INT64:
                    raise ValueProblem("contact id out of range")
                out[kind] = value
            elif kind == "EMAIL":
                out[kind] = email(value)
            elif kind == "ext_id":
                if not isinstance(value, str) or not 1 <= len(value.strip()) <= 255:
                    raise ValueProblem(f"expected text of 1 to 255 characters, got {value!r}")
                if "\x00" in value:
                    raise ValueProblem("text may not contain NUL characters")
                out[kind] = value
            else:
                out[kind] = phone(value)
        except ValueProblem as e:
            problems.append((where, str(e)))
    if not out and not any(p[0].startswith("identifiers") for p in problems):
        names = ", ".join(fields.get(k, k).removeprefix("identifiers.") for k in KINDS)
        problems.append(("identifiers", f"at least one identifier is required ({names})"))
    return out


def _properties(value: Any, where: str, problems: list[tuple[str, str]], depth: int = 0) -> None:
    """Keys of ``[A-Za-z0-9_-]`` up to 255 characters; values strings, numbers, booleans,
    objects or arrays of them."""
    if depth == 0 and type(value) is dict:  # the usual flat object, checked in one pass
        flat = True
        for key, inner in value.items():
            kind = type(inner)
            if kind is str:
                if "\x00" in inner:
                    flat = False
                    break
            elif kind not in _SCALARS:
                flat = False
                break
            if type(key) is not str or not PROPERTY_KEY.match(key):
                flat = False
                break
        if flat:
            return
    if depth > MAX_DEPTH:
        problems.append((where, f"nested more than {MAX_DEPTH} levels deep"))
        return
    if isinstance(value, dict):
        for key, inner in value.items():
            if not isinstance(key, str) or not PROPERTY_KEY.match(key):
                problems.append(
                    (
                        f"{where}.{key}",
                        "property keys are 1 to 255 letters, digits, '-' or '_'",
                    )
                )
                continue
            _properties(inner, f"{where}.{key}", problems, depth + 1)
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            _properties(inner, f"{where}[{i}]", problems, depth + 1)
    elif value is None:
        problems.append((where, "null is not a supported value (string, number, boolean, date)"))
    elif isinstance(value, str) and "\x00" in value:
        problems.append((where, "text may not contain NUL characters"))


def _object(raw: Any) -> dict[str, Any] | None:
    """The record an event points at; never fails the event (Brevo ignores an unknown object)."""
    if not isinstance(raw, dict):
        return None
    ids = raw.get("identifiers")
    if not isinstance(ids, dict):
        ids = {}
    return {"type": raw.get("type"), "id": ids.get("id"), "ext_id": ids.get("ext_id")}


class EventChecker:
    """Checks the events of one batch against the account's contact attributes."""

    def __init__(self, contact_checker: AttributeChecker, identity_fields: dict[str, str]) -> None:
        self.contacts = contact_checker
        self.fields = identity_fields
        self.received_at = clock.iso(clock.now())

    def check(self, raw: dict[str, Any]) -> CheckedEvent:
        problems: list[tuple[str, str]] = []
        name = raw.get("name")
        if not isinstance(name, str) or not NAME.match(name):
            problems.append(("event_name", "1 to 255 characters, letters, digits, '-' or '_' only"))
        date = raw.get("date")
        when = self.received_at
        if date is not None:
            try:
                when = clock.iso(event_date(date))
            except ValueProblem as e:
                problems.append(("event_date", str(e)))
        who = _identity(raw.get("identity"), self.fields, problems)
        props = raw.get("properties")
        if props is not None:
            if not isinstance(props, dict):
                problems.append(("event_properties", "must be an object"))
            else:
                _properties(props, "event_properties", problems)
                if len(orjson.dumps(props)) > MAX_PROPERTIES_BYTES:
                    problems.append(
                        ("event_properties", f"larger than {MAX_PROPERTIES_BYTES // 1024} KB")
                    )
        contact_props = raw.get("contact_properties") or {}
        warnings: list[dict[str, Any]] = []
        checked_props: dict[str, Any] = {}
        if not isinstance(contact_props, dict):
            problems.append(("contact_properties", "must be an object"))
        elif contact_props:
            result = self.contacts.check(contact_props)
            problems += [(f"contact_properties.{k}", m) for k, m in result.problems]
            checked_props = result.attributes
            warnings = [{**w, "field": f"contact_properties.{w['field']}"} for w in result.warnings]
        event = {
            "name": name,
            "date": when,
            "identity": who,
            "properties": props or {},
            "contact_properties": checked_props,
            "warnings": warnings,
            "object": _object(raw.get("object")),
        }
        return CheckedEvent(event, problems)
