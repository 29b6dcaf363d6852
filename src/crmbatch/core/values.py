"""Attribute values: check and normalise one value against its attribute's type.

This is on the hot path (every attribute of every record, at accept and at apply), so it is plain
code with no per-value allocation beyond the result.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from datetime import date, datetime
from typing import Any

import orjson

from crmbatch.core.schema.model import Attribute, ObjectType

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_FORMATTING = re.compile(r"[ ()\-.]")
_PHONE_DIGITS = re.compile(r"^[1-9][0-9]{5,14}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_TEXT = 65_535


class ValueProblem(Exception):
    """A value does not fit its attribute; the message is for the user."""


class Ignored(Exception):
    """A value Brevo would silently ignore (an option label instead of a key)."""

    def __init__(self, code: str, message: str, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.suggestion = suggestion


def describe(value: Any) -> str:
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:37] + "...")
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "an array"
    return "an object"


def _show(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) and len(value) <= 40 else describe(value)


def _option(attr: Attribute, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueProblem(f"expected an option key, got {_show(value)}")
    if value in attr.option_keys:
        return value
    for o in attr.options:
        if o.label.lower() == value.lower() or o.key.lower() == value.lower():
            raise Ignored(
                "option_label_used",
                f"{value!r} is not an option key of {attr.key} and was ignored; "
                f"use the key {o.key!r}",
                o.key,
            )
    close = difflib.get_close_matches(value, list(attr.option_keys), n=1, cutoff=0.75)
    raise Ignored(
        "unknown_option",
        f"{value!r} is not an option of {attr.key} and was ignored",
        close[0] if close else None,
    )


def check(attr: Attribute, value: Any) -> Any:
    """The stored form of ``value`` for ``attr``; ``None`` clears the attribute.

    Raises :class:`ValueProblem` (the record is invalid) or :class:`Ignored` (the value is dropped
    with a warning, as Brevo does).
    """
    if value is None:
        return None
    if isinstance(value, str) and "\x00" in value:
        raise ValueProblem("text may not contain NUL characters")
    t = attr.type
    if t == "text":
        if isinstance(value, str):
            if len(value) > MAX_TEXT:
                raise ValueProblem(f"text longer than {MAX_TEXT} characters")
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise ValueProblem(f"expected text, got {_show(value)}")
    if t == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueProblem(f"expected a number, got {_show(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueProblem("expected a finite number")
        if isinstance(value, int) and abs(value) > 2**63:
            raise ValueProblem("number out of range")
        return value
    if t == "boolean":
        if isinstance(value, bool):
            return value
        raise ValueProblem(f"expected true or false, got {_show(value)}")
    if t == "date":
        if isinstance(value, str) and _DATE.match(value):
            try:
                date.fromisoformat(value)
            except ValueError:
                pass
            else:
                return value
        raise ValueProblem(f"expected a date YYYY-MM-DD, got {_show(value)}")
    if t == "datetime":
        if isinstance(value, str) and len(value) >= 16:
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is not None:
                from crmbatch.core.clock import iso

                return iso(parsed)
        raise ValueProblem(f"expected an ISO 8601 date-time with offset, got {_show(value)}")
    if t == "category":
        return _option(attr, value)
    if t == "multiple_category":
        if not isinstance(value, list):
            raise ValueProblem(f"expected an array of option keys, got {_show(value)}")
        out: list[str] = []
        for v in value:
            key = _option(attr, v)  # an ignored option drops the whole value: nothing half-set
            if key not in out:
                out.append(key)
        return out
    if t == "email":
        return email(value)
    if t == "phone":
        return phone(value)
    raise ValueProblem(f"unsupported attribute type {t}")


_INTEGER = re.compile(r"^[+-]?\d{1,19}$")
_TRUE_WORDS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def from_text(attr: Attribute, text: str | None) -> Any:
    """The stored form of a value sent as text (MainBrainer's ``propertyValue``, a CSV cell):
    converted to the attribute's type, then checked like any value. ``None`` clears.

    Numbers are integers when they look like one; booleans are true/false, yes/no or 1/0 in any
    case; a multiple choice is a JSON array or keys separated by commas.
    """
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValueProblem(f"expected text, got {_show(text)}")
    value: Any = text
    t = attr.type
    stripped = text.strip()
    if t == "number":
        if _INTEGER.match(stripped):
            value = int(stripped)
        else:
            try:
                value = float(stripped)
            except ValueError:
                raise ValueProblem(f"expected a number, got {_show(text)}") from None
    elif t == "boolean":
        value = _TRUE_WORDS.get(stripped.lower())
        if value is None:
            raise ValueProblem(f"expected true or false, got {_show(text)}")
    elif t == "multiple_category":
        if stripped.startswith("["):
            try:
                value = orjson.loads(stripped)
            except orjson.JSONDecodeError:
                raise ValueProblem(
                    f"expected a JSON array of option keys, got {_show(text)}"
                ) from None
        else:
            value = [part.strip() for part in stripped.split(",") if part.strip()]
    elif t in ("date", "datetime", "category", "email", "phone"):
        value = stripped
    return check(attr, value)


def email(value: Any) -> str:
    """An email address, stripped and lower-cased (addresses match case-insensitively)."""
    if isinstance(value, str):
        text = value.strip()
        if len(text) <= 254 and _EMAIL.match(text):
            return text.lower()
    raise ValueProblem(f"expected an email address, got {_show(value)}")


def phone(value: Any) -> str:
    """A phone number in E.164 form, ``+`` and digits, country code first.

    Accepts Brevo's formats (``33612345678``, ``+33612345678``, ``0033612345678``) with spaces,
    dots, dashes and parentheses between the digits.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and len(value) <= 40:
        digits = _PHONE_FORMATTING.sub("", value.strip())
        if digits.startswith("+"):
            digits = digits[1:]
        elif digits.startswith("00"):
            digits = digits[2:]
        if _PHONE_DIGITS.match(digits):
            return "+" + digits
    raise ValueProblem(
        f"expected a phone number with its country code (e.g. +33612345678), got {_show(value)}"
    )


def identifier_value(value: Any, *, fold_case: bool = False) -> str:
    """The normalised text under which a unique value is indexed: Unicode NFC (``café`` typed
    either way is one value), without surrounding spaces, and lower-cased for attributes of the
    email kind only (``fold_case``): addresses match case-insensitively, other text does not."""
    if isinstance(value, str):
        text = value.strip()
        if not text.isascii():  # ASCII is NFC already
            text = unicodedata.normalize("NFC", text)
        return text.lower() if fold_case else text
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def ext_id(value: str) -> str:
    """An ext_id as it is stored and looked up: Unicode NFC, so one written with composed or
    decomposed accents is the same ext_id."""
    return unicodedata.normalize("NFC", value)


def identifier_of(attr: Attribute | None, value: Any) -> str:
    """:func:`identifier_value` for a value of ``attr``."""
    return identifier_value(value, fold_case=attr is not None and attr.type == "email")


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def suggest(object_type: ObjectType, unknown_key: str) -> str | None:
    """The attribute key ``unknown_key`` most likely meant: a label match, then a close spelling."""
    wanted = _norm(unknown_key)
    for a in object_type.attributes.values():
        if _norm(a.label) == wanted or _norm(a.key) == wanted:
            return a.key
    keys = list(object_type.attributes)
    close = difflib.get_close_matches(unknown_key, keys, n=1, cutoff=0.75)
    if close:
        return close[0]
    lowered = {k.lower(): k for k in keys}
    close = difflib.get_close_matches(unknown_key.lower(), list(lowered), n=1, cutoff=0.75)
    return lowered[close[0]] if close else None
