"""Check a record command's attributes against its object type (at accept and at apply)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crmbatch.core.schema.model import ObjectType
from crmbatch.core.values import MAX_TEXT, Ignored, ValueProblem, check, suggest


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
