"""Check a record command's attributes against its object type (at accept and at apply)."""

from __future__ import annotations

import datetime
import threading
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import msgspec

from crmbatch.core.schema.model import Attribute, ObjectType
from crmbatch.core.values import MAX_TEXT, Ignored, ValueProblem, check, suggest
from crmbatch.db import codec


@dataclass
class Checked:
    attributes: dict[str, Any]
    problems: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)


class AttributeChecker:
    """Checks the attributes of many records of one type; remembers suggestions per unknown key."""

    def __init__(self, object_type: ObjectType) -> None:
        self.type = object_type
        self._suggestions: dict[str, str | None] = {}

    def _unknown(self, key: str) -> dict[str, Any]:
        if key not in self._suggestions:
            self._suggestions[key] = suggest(self.type, key)
        hint = self._suggestions[key]
        return {
            "code": "unknown_attribute",
            "field": key,
            "message": f"attribute {key!r} is not defined on {self.type.name} and was ignored",
            "suggestion": hint,
        }

    def check(self, attrs: dict[str, Any]) -> Checked:
        attributes = self.type.attributes
        out: dict[str, Any] = {}
        result = Checked(out)
        for key, value in attrs.items():
            attr = attributes.get(key)
            if attr is None:
                result.warnings.append(self._unknown(key))
                continue
            # the common cases inline (this runs for every value of every record)
            kind, vtype = attr.type, type(value)
            if (
                (kind == "text" and vtype is str and len(value) <= MAX_TEXT and "\x00" not in value)
                or (kind == "number" and vtype is int and -(2**63) <= value <= 2**63)
                or (kind == "boolean" and vtype is bool)
            ):
                out[key] = value
                continue
            try:
                out[key] = check(attr, value)
            except ValueProblem as e:
                result.problems.append((key, str(e)))
            except Ignored as e:
                result.warnings.append(
                    {"code": e.code, "field": key, "message": e.message, "suggestion": e.suggestion}
                )
        return result


# ---- many records at once ---------------------------------------------------------------------

_Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT)]
_Number = (
    Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
    | Annotated[float, msgspec.Meta(ge=-1.7976931348623157e308, le=1.7976931348623157e308)]
)
#: a value's type as msgspec checks it, by attribute type: exactly what ``check`` takes as it is
#: (anything it would convert, normalise or ignore fails here and is left to it)
_PLAIN: dict[str, Any] = {
    "text": _Text,
    "number": _Number,
    "boolean": bool,
    "date": datetime.date,
    # text here; normalised one by one afterwards by ``check``
    "datetime": str,
    "email": str,
    "phone": str,
}


def _value_type(attr: Attribute) -> Any:
    if attr.type == "category":
        return Literal[tuple(sorted(attr.option_keys))] if attr.option_keys else None
    if attr.type == "multiple_category":
        if not attr.option_keys:
            return None
        return list[Literal[tuple(sorted(attr.option_keys))]]  # type: ignore[misc]
    return _PLAIN.get(attr.type)


#: a JSON string holding a NUL character, as :func:`codec.dumps` writes it
_NUL = b"\\u0000"


class TypedCheck:
    """The attributes of many records checked in one call against a type compiled from the
    object type (msgspec, in C), about a tenth of what checking them value by value costs.

    A batch whose values are all plainly valid passes as it is (the few types that normalise,
    date-times, emails and phones, are normalised in place, and a multiple choice given an option
    twice keeps it once, as :func:`check` does). Anything else (an unknown key, an option label,
    a number for a text, a value out of range) makes :meth:`clean` answer ``False``: the batch
    is then checked by :class:`AttributeChecker`, which says what is wrong or what it ignored.
    A property test holds the two to the same answers.
    """

    def __init__(self, object_type: ObjectType) -> None:
        fields: list[tuple[str, Any, Any]] = []
        self._normalised: list[Attribute] = []
        self._choices: list[str] = []
        self.usable = True
        for i, attr in enumerate(object_type.attributes.values()):
            kind = _value_type(attr)
            if kind is None:  # a type with no plain values (no options): value by value
                self.usable = False
                return
            default = msgspec.field(default=msgspec.UNSET, name=attr.key)
            fields.append((f"a{i}", kind | None, default))
            if attr.type in ("datetime", "email", "phone"):
                self._normalised.append(attr)
            elif attr.type == "multiple_category":
                self._choices.append(attr.key)
        struct = msgspec.defstruct("Attributes", fields, forbid_unknown_fields=True)
        self._type: Any = list[struct]  # type: ignore[valid-type]

    def clean(self, values: list[dict[str, Any]]) -> bool:
        """True when every one of ``values`` (each a record's attributes) is valid, normalised
        in place; False when any is not (nothing is then known: check them one by one)."""
        if not self.usable:
            return False
        try:
            msgspec.convert(values, self._type)
        except msgspec.ValidationError:
            return False
        if _NUL in codec.dumps(values):
            return False
        for attr in self._normalised:  # idempotent: a value normalised twice stays the same
            key = attr.key
            for attrs in values:
                value = attrs.get(key)
                if value is not None:
                    try:
                        attrs[key] = check(attr, value)
                    except (ValueProblem, Ignored):
                        return False
        for key in self._choices:
            for attrs in values:
                chosen = attrs.get(key)
                if chosen and len(chosen) > 1 and len(set(chosen)) != len(chosen):
                    attrs[key] = list(dict.fromkeys(chosen))
        return True


_TYPED: dict[str, TypedCheck] = {}
_TYPED_LOCK = threading.Lock()


def typed_check(object_type: ObjectType) -> TypedCheck:
    """The :class:`TypedCheck` of a type, compiled once per version of its attributes."""
    key = f"{object_type.name}:{object_type.fingerprint()}"
    found = _TYPED.get(key)
    if found is None:
        found = TypedCheck(object_type)
        with _TYPED_LOCK:
            if len(_TYPED) > 1000:
                _TYPED.clear()
            _TYPED[key] = found
    return found
