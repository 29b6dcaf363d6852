"""Rows of a CSV or JSONL file, read as a stream, and how each becomes a Brevo record of one
object type: columns mapped to attribute keys, text converted to the attribute's type, every
problem named so that a bad row is reported, never sent.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson

import crmbatch.core.values as values
from crmbatch.core.schema.model import Attribute, ObjectType, Option

FORMATS = ("csv", "jsonl")
Problem = dict[str, Any]


class FileProblem(Exception):
    """The file as a whole cannot be synced (unknown columns, no header, unknown type)."""


def format_of(path: Path, given: str | None) -> str:
    if given:
        return given
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".csv", ".tsv", ".txt"):
        return "csv"
    raise FileProblem(f"cannot tell the format of {path.name}; say --format csv or jsonl")


class Counting(io.RawIOBase):
    """A binary file that counts the bytes read from it: how far a stream has got."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)  # type: ignore[attr-defined]
        self.count += n or 0
        return n or 0

    def close(self) -> None:
        self.raw.close()
        super().close()


@dataclass
class Row:
    """One row: the line it starts on (the header is line 1) and its cells or object."""

    line: int
    data: Any
    #: a problem found while reading (a truncated or malformed line)
    problem: Problem | None = None


def read_csv(stream: io.TextIOBase, *, delimiter: str = ",") -> tuple[list[str], Iterator[Row]]:
    """The header and the rows of a CSV stream; a row with more or fewer cells than the header
    comes with a problem."""
    reader = csv.reader(stream, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise FileProblem("the file is empty: the first line must name the columns") from None
    header = [h.strip() for h in header]
    if not any(header):
        raise FileProblem("the first line must name the columns")

    def rows() -> Iterator[Row]:
        width = len(header)
        last = reader.line_num
        for cells in reader:
            line, last = last + 1, reader.line_num
            if not cells:
                continue  # a blank line
            problem = None
            if len(cells) != width:
                how = "more" if len(cells) > width else "fewer"
                problem = {
                    "code": "wrong_cell_count",
                    "message": f"the row has {len(cells)} cells, {how} than the "
                    f"{width} columns of the header",
                }
            yield Row(line, cells, problem)

    return header, rows()


def read_jsonl(stream: io.TextIOBase) -> Iterator[Row]:
    """One JSON object per line; blank lines are skipped."""
    for number, text in enumerate(stream, 1):
        if not text.strip():
            continue
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError as e:
            yield Row(number, None, {"code": "invalid_json", "message": f"not JSON: {e}"})
            continue
        if not isinstance(data, dict):
            problem = {"code": "invalid_json", "message": "each line must be a JSON object"}
            yield Row(number, None, problem)
            continue
        yield Row(number, data)


#: what a line of a failure file says about its row, besides the row itself
FAILURE_KEYS = frozenset({"line", "status", "errors", "id", "ext_id"})


def _unwrapped(data: dict[str, Any]) -> dict[str, Any]:
    """A line of a failure file (``crmbatch sync``'s own) as the record or row it carries."""
    if not ("line" in data and "errors" in data and "status" in data):
        return data
    if isinstance(data.get("row"), dict):
        return dict(data["row"])
    return {k: v for k, v in data.items() if k not in FAILURE_KEYS}


def object_type_of(document: dict[str, Any], name: str) -> ObjectType:
    """The object type ``name`` of a schema document as ``GET /v1/schema`` exports it."""
    types = document.get("object_types") or {}
    spec = types.get(name)
    if spec is None:
        known = ", ".join(sorted(types)) or "none"
        raise FileProblem(f"the account has no object type {name!r} (its types: {known})")
    specs: dict[str, dict[str, Any]] = {  # `year: number` is short for `{type: number}`
        key: {"type": a} if isinstance(a, str) else a
        for key, a in (spec.get("attributes") or {}).items()
    }
    attributes = {
        key: Attribute(
            id=a.get("id") or key,
            key=key,
            label=a.get("label") or key,
            type=a["type"],
            unique=bool(a.get("unique")),
            options=tuple(
                Option(o["key"], o.get("label") or o["key"]) for o in a.get("options") or []
            ),
        )
        for key, a in specs.items()
    }
    return ObjectType(
        id=0,
        name=name,
        label=spec.get("label") or name,
        primary_attribute=spec.get("primary_attribute"),
        is_system=False,
        attributes=attributes,
    )


def _problem(code: str, field_name: str, message: str, suggestion: str | None = None) -> Problem:
    out = {"code": code, "field": field_name, "message": message}
    if suggestion:
        out["suggestion"] = suggestion
    return out


@dataclass
class Mapping:
    """How the rows of one file become records of ``object_type``."""

    object_type: ObjectType
    #: column (or JSON key) -> attribute key, from ``--map``
    renames: dict[str, str] = field(default_factory=dict)
    ext_id_column: str | None = None
    id_column: str | None = None

    def attribute(self, column: str) -> Attribute | None:
        return self.object_type.attributes.get(self.renames.get(column, column))

    def check_header(self, header: list[str]) -> list[Attribute | None]:
        """Each column's attribute (``None`` for the identifier columns); a column that names
        no attribute stops the sync before anything is sent."""
        for needed, what in (
            (self.ext_id_column, "--ext-id-column"),
            (self.id_column, "--id-column"),
        ):
            if needed is not None and needed not in header:
                raise FileProblem(f"{what} {needed!r} is not a column of the file")
        out: list[Attribute | None] = []
        unknown = []
        for column in header:
            attr = self.attribute(column)
            if attr is None and column not in (self.ext_id_column, self.id_column):
                unknown.append(column)
            out.append(attr)
        if unknown:
            hints = []
            for column in unknown:
                hint = values.suggest(self.object_type, column)
                hints.append(f"{column!r}" + (f" (did you mean {hint!r}?)" if hint else ""))
            raise FileProblem(
                f"{len(unknown)} column(s) name no attribute of {self.object_type.name}: "
                + ", ".join(hints)
                + "; map them with --map COLUMN=ATTRIBUTE or remove them"
            )
        return out

    def _identifiers(self, get: Any, problems: list[Problem]) -> dict[str, Any]:
        identifiers: dict[str, Any] = {}
        if self.ext_id_column is not None:
            ext_id = get(self.ext_id_column)
            if ext_id is None or (isinstance(ext_id, str) and not ext_id.strip()):
                problems.append(
                    _problem("missing_ext_id", self.ext_id_column, "the ext_id is empty")
                )
            else:
                identifiers["ext_id"] = str(ext_id).strip()
        if self.id_column is not None:
            raw = get(self.id_column)
            text = str(raw).strip() if raw is not None else ""
            if text.isdigit() and 0 < int(text) < 2**63:
                identifiers["id"] = int(text)
            else:
                problems.append(
                    _problem("invalid_id", self.id_column, f"expected a record id, got {raw!r}")
                )
        return identifiers

    def csv_record(
        self, header: list[str], attributes: list[Attribute | None], cells: list[str]
    ) -> tuple[dict[str, Any] | None, list[Problem]]:
        """The record of one CSV row, or the problems that keep it from being sent. An empty
        cell leaves the attribute as it is."""
        problems: list[Problem] = []
        record_attributes: dict[str, Any] = {}
        for column, attr, cell in zip(header, attributes, cells, strict=False):
            if attr is None or cell == "":
                continue
            try:
                record_attributes[attr.key] = values.from_text(attr, cell)
            except values.ValueProblem as e:
                problems.append(_problem("invalid_value", column, str(e)))
            except values.Ignored as e:
                problems.append(_problem(e.code, column, e.message, e.suggestion))
        by_column = dict(zip(header, cells, strict=False))
        identifiers = self._identifiers(by_column.get, problems)
        return self._record(identifiers, record_attributes, None, problems)

    def json_record(self, data: dict[str, Any]) -> tuple[dict[str, Any] | None, list[Problem]]:
        """The record of one JSON line: Brevo's shape (``identifiers``, ``attributes``,
        ``associations``) or plain attributes with the identifier columns among them."""
        problems: list[Problem] = []
        data = _unwrapped(data)
        if "attributes" in data or "identifiers" in data:
            identifiers = data.get("identifiers") or {}
            raw = data.get("attributes") or {}
            associations = data.get("associations")
            if not isinstance(raw, dict) or not isinstance(identifiers, dict):
                problems.append(
                    _problem(
                        "invalid_record", "attributes", "attributes and identifiers must be objects"
                    )
                )
                return None, problems
        else:
            skip = {self.ext_id_column, self.id_column}
            identifiers = self._identifiers(data.get, problems)
            # an identifier column is sent as an attribute too when the type has one by its name
            raw = {k: v for k, v in data.items() if k not in skip or self.attribute(k) is not None}
            associations = None
        record_attributes: dict[str, Any] = {}
        for key, value in raw.items():
            attr = self.attribute(key)
            if attr is None:
                hint = values.suggest(self.object_type, key)
                message = f"{key!r} is not an attribute of {self.object_type.name}"
                problems.append(_problem("unknown_attribute", key, message, hint))
                continue
            if value is None:
                record_attributes[attr.key] = None
                continue
            try:
                converted = (
                    values.from_text(attr, value)
                    if isinstance(value, str)
                    else values.check(attr, value)
                )
            except values.ValueProblem as e:
                problems.append(_problem("invalid_value", key, str(e)))
                continue
            except values.Ignored as e:
                problems.append(_problem(e.code, key, e.message, e.suggestion))
                continue
            record_attributes[attr.key] = converted
        return self._record(identifiers, record_attributes, associations, problems)

    @staticmethod
    def _record(
        identifiers: dict[str, Any],
        attributes: dict[str, Any],
        associations: Any,
        problems: list[Problem],
    ) -> tuple[dict[str, Any] | None, list[Problem]]:
        if problems:
            return None, problems
        record: dict[str, Any] = {}
        if identifiers:
            record["identifiers"] = identifiers
        record["attributes"] = attributes
        if associations:
            record["associations"] = associations
        return record, problems
