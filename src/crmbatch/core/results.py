"""What became of each item of a batch: one small type for the engine, the runner, the process
view and every dialect, and the counts built from it.

A result is stored and shown as it serialises (orjson writes dataclasses as they are)::

    {"index": 0, "status": "created", "id": 16789, "ext_id": "car-1", "errors": [], "warnings": []}

``id`` is always a real record id (or ``null``): a record the batch is about to create has no id
yet, and a dry run shows ``null`` for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

#: every count a process reports, in the order they are shown
COUNT_KEYS = (
    "received",
    "created",
    "updated",
    "unchanged",
    "deleted",
    "archived",
    "failed",
    "skipped",
)

#: the statuses of items that were not applied
UNAPPLIED = frozenset({"failed", "skipped"})

Problem = dict[str, Any]


def problem(code: str, field: str | None, message: str, suggestion: str | None = None) -> Problem:
    """An error or warning of a result: a stable ``code``, the ``field`` it is about (a path
    within the item), a message for people, and for warnings what was probably meant."""
    return {"code": code, "field": field, "message": message, "suggestion": suggestion}


#: warnings kept per item; the rest are counted in one last warning (``more_warnings``), so a
#: batch of records full of unknown attributes stores (and serves) a bounded result
MAX_WARNINGS = 20
MORE_WARNINGS = "more_warnings"


def cap_warnings(warnings: list[Problem]) -> list[Problem]:
    """At most :data:`MAX_WARNINGS` warnings, then one that says how many more there were."""
    if len(warnings) <= MAX_WARNINGS:
        return warnings
    shown: list[Problem] = []
    hidden = 0
    for w in warnings:
        if w.get("code") == MORE_WARNINGS:
            hidden += int(w.get("count") or 0)
        elif len(shown) < MAX_WARNINGS:
            shown.append(w)
        else:
            hidden += 1
    more = problem(
        MORE_WARNINGS, None, f"{hidden} more warnings like these were left out of this result"
    )
    return [*shown, {**more, "count": hidden}]


def error(code: str, field: str | None, message: str) -> Problem:
    """An error of a result (errors carry no suggestion)."""
    return {"code": code, "field": field, "message": message}


@dataclass(slots=True)
class Result:
    """One item of a batch: its position, what became of it, the record it is about."""

    index: int
    status: str
    id: int | None = None
    ext_id: str | None = None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def applied(self) -> bool:
        return self.status not in UNAPPLIED

    @classmethod
    def failure(
        cls,
        index: int,
        error: Problem,
        *,
        id: int | None = None,
        ext_id: str | None = None,
        warnings: list[Problem] | None = None,
        status: str = "failed",
    ) -> Result:
        return cls(index, status, id, ext_id, [error], warnings or [])

    @classmethod
    def load(cls, stored: dict[str, Any]) -> Result:
        """A result as it was stored (extra keys, such as an event's, are not kept)."""
        return cls(
            stored["index"],
            stored["status"],
            stored.get("id"),
            stored.get("ext_id"),
            list(stored.get("errors") or ()),
            list(stored.get("warnings") or ()),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "status": self.status,
            "id": self.id,
            "ext_id": self.ext_id,
            "errors": self.errors,
            "warnings": self.warnings,
        }


@dataclass(slots=True)
class EventResult(Result):
    """An event's result: the event's id, and what became of its contact and object."""

    contact: dict[str, Any] | None = None
    object: dict[str, Any] | None = None


def typed(results: Iterable[Result | dict[str, Any]]) -> list[Result]:
    """Results as this type, whether fresh from the engine or read back as stored."""
    return [r if isinstance(r, Result) else Result.load(r) for r in results]


def new_counts(received: int) -> dict[str, int]:
    """The counts of a process that has received ``received`` items and done nothing yet."""
    return {k: received if k == "received" else 0 for k in COUNT_KEYS}


def tally(results: Iterable[Result]) -> dict[str, int]:
    """The counts of a list of results (``received`` is their number)."""
    counts = new_counts(0)
    for r in results:
        counts["received"] += 1
        counts[r.status] += 1
    return counts


@dataclass
class Outcome:
    """The results of a batch, one per item in input order, and their counts.

    A process joined from parts (an import) keeps its results as their JSON text
    (``results_text``, the parts' results one after another) and its counts summed
    (``joined_counts``), without an object per result."""

    results: list[Result]
    joined_counts: dict[str, int] | None = None
    results_text: str | None = None
    joined_warned: int | None = None

    @property
    def unapplied(self) -> int:
        """How many items were not applied (failed or skipped)."""
        counts = self.counts
        return sum(int(counts.get(status, 0)) for status in UNAPPLIED)

    @property
    def warned(self) -> int:
        """How many items carry warnings."""
        if self.joined_warned is not None:
            return self.joined_warned
        return sum(1 for r in self.results if r.warnings)

    @property
    def counts(self) -> dict[str, int]:
        if self.joined_counts is not None:
            return self.joined_counts
        return tally(self.results)
