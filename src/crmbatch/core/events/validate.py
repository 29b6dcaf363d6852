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
from datetime import UTC, datetime
from typing import Any

import orjson

from crmbatch.core import clock
from crmbatch.core.contacts.identity import KINDS
from crmbatch.core.records.validate import AttributeChecker
from crmbatch.core.results import cap_warnings
from crmbatch.core.values import ValueProblem, describe, email, ext_id, phone

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
    """An ISO 8601 date-time with an offset (``Z`` counts), as an aware datetime in UTC."""
    if isinstance(value, str) and len(value) >= 16:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            try:
                return parsed.astimezone(UTC)
            except OverflowError:  # 9999-12-31T23:59:59-14:00 is in the year 10000 in UTC
                raise ValueProblem(
                    f"{value!r} is outside the dates crmbatch stores (years 1 to 9999 in UTC)"
                ) from None
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
                out[kind] = ext_id(value)
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
            elif kind not in _SCALARS or (kind is int and not -MAX_INT64 - 1 <= inner <= MAX_INT64):
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
    elif isinstance(value, int) and not -MAX_INT64 - 1 <= value <= MAX_INT64:
        problems.append((where, "number out of range (64-bit integers at most)"))


def _object(raw: Any) -> dict[str, Any] | None:
    """The record an event points at; never fails the event (Brevo ignores an unknown object)."""
    if not isinstance(raw, dict):
        return None
    ids = raw.get("identifiers")
    if not isinstance(ids, dict):
        ids = {}
    ext = _short(ids.get("ext_id"))
    return {
        "type": _short(raw.get("type")),
        "id": _short(ids.get("id")),
        "ext_id": ext_id(ext) if isinstance(ext, str) else ext,
    }


def _short(value: Any) -> Any:
    """An object's type or identifier as it may be stored and shown: a string of at most 255
    characters or a 64-bit integer; anything else names no record (``None``)."""
    if isinstance(value, str):
        return value if len(value) <= 255 and "\x00" not in value else None
    if isinstance(value, int) and not isinstance(value, bool):
        return value if -MAX_INT64 - 1 <= value <= MAX_INT64 else None
    return None


class EventChecker:
    """Checks the events of one batch against the account's contact attributes."""

    def __init__(
        self,
        contact_checker: AttributeChecker,
        identity_fields: dict[str, str],
        *,
        contact_properties_clean: bool = False,
    ) -> None:
        self.contacts = contact_checker
        self.fields = identity_fields
        self.received_at = clock.iso(clock.now())
        #: every event's contact properties are known valid as they are (:class:`TypedCheck`)
        self.clean = contact_properties_clean

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
                found = len(problems)
                _properties(props, "event_properties", problems)
                # measured only when well-formed (too deep, it cannot even be written)
                if len(problems) == found and len(orjson.dumps(props)) > MAX_PROPERTIES_BYTES:
                    problems.append(
                        ("event_properties", f"larger than {MAX_PROPERTIES_BYTES // 1024} KB")
                    )
        contact_props = raw.get("contact_properties") or {}
        warnings: list[dict[str, Any]] = []
        checked_props: dict[str, Any] = {}
        if not isinstance(contact_props, dict):
            problems.append(("contact_properties", "must be an object"))
        elif contact_props and self.clean:
            checked_props = contact_props
        elif contact_props:
            result = self.contacts.check(contact_props)
            problems += [(f"contact_properties.{k}", m) for k, m in result.problems]
            checked_props = result.attributes
            warnings = cap_warnings(
                [{**w, "field": f"contact_properties.{w['field']}"} for w in result.warnings]
            )
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
