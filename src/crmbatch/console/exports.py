"""A process's results narrowed for a page, and its failures as a file (CSV or JSON lines)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from typing import Any

import orjson

from crmbatch.core.results import UNAPPLIED

FORMATS = ("csv", "jsonl")


def _codes_of(result: dict[str, Any]) -> set[str]:
    return {p.get("code") for p in [*result.get("errors", []), *result.get("warnings", [])]}


def narrowed(
    results: list[dict[str, Any]], *, status: str | None, code: str | None
) -> list[dict[str, Any]]:
    """The results with this status and with an error or warning of this code."""
    return [
        r
        for r in results
        if (not status or r.get("status") == status) and (not code or code in _codes_of(r))
    ]


def codes(results: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """Each error and warning code of the results, with how many results carry it."""
    seen: Counter[str] = Counter()
    for r in results:
        seen.update(c for c in _codes_of(r) if c)
    return sorted(seen.items())


def _cell(value: Any) -> Any:
    """A cell a spreadsheet will not run as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def failures(results: list[dict[str, Any]], fmt: str) -> tuple[bytes, str]:
    """The failed and skipped results as a file: one line each, with the item's position,
    identifiers and every error's code, field and message."""
    failed = [r for r in results if r.get("status") in UNAPPLIED]
    if fmt == "jsonl":
        return b"".join(orjson.dumps(r) + b"\n" for r in failed), "application/x-ndjson"
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["index", "status", "id", "ext_id", "code", "field", "message"])
    for r in failed:
        for e in r.get("errors") or [{"code": "", "field": "", "message": ""}]:
            row = [r.get("index"), r.get("status"), r.get("id"), r.get("ext_id")]
            cells = [*row, e.get("code"), e.get("field"), e.get("message")]
            writer.writerow([_cell(c) for c in cells])
    return out.getvalue().encode(), "text/csv; charset=utf-8"
