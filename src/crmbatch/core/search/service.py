"""Search the records of one object type: groups of filters (OR of ANDs), a free-text query, one
sort, and offset paging, with HubSpot's limits. The filter model is the core's; a dialect only
translates its wire format into it.

Values compare by the attribute's type: numbers as numbers, dates and date-times by time,
categories by option key, booleans as booleans; a multiple choice equals (or is in) a value when
it holds that option. ``NEQ`` and ``NOT_IN`` also match records that have no value. Text tokens
(``CONTAINS_TOKEN``) match without case; ``*`` is a wildcard, and a token without one matches
anywhere in the text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.engine import Connection

from crmbatch.core.errors import CrmError, OutOfRange
from crmbatch.core.schema.model import Attribute, ObjectType
from crmbatch.core.search import store
from crmbatch.core.values import ValueProblem, check, identifier_of

OPERATORS = frozenset(
    {
        "EQ",
        "NEQ",
        "LT",
        "LTE",
        "GT",
        "GTE",
        "BETWEEN",
        "IN",
        "NOT_IN",
        "HAS_PROPERTY",
        "NOT_HAS_PROPERTY",
        "CONTAINS_TOKEN",
        "NOT_CONTAINS_TOKEN",
    }
)
MAX_GROUPS = 5
MAX_FILTERS_PER_GROUP = 6
MAX_FILTERS = 18
MAX_LIMIT = 200
#: no page may reach past this many results
MAX_RESULTS = 10_000
MAX_QUERY = 3000
#: what every record has besides its attributes
COLUMNS = {"id": "number", "created_at": "datetime", "updated_at": "datetime"}


@dataclass(frozen=True)
class Filter:
    """``field`` is an attribute key or one of :data:`COLUMNS`."""

    field: str
    operator: str
    value: Any = None
    values: tuple[Any, ...] = ()
    high: Any = None


@dataclass
class Query:
    groups: list[list[Filter]] = field(default_factory=list)
    #: (field, descending)
    sort: tuple[str, bool] | None = None
    text: str | None = None
    limit: int = 10
    offset: int = 0


@dataclass(frozen=True)
class Condition:
    """A filter checked and typed for the store: what to compare, how, with what."""

    field: str
    kind: str  # the attribute type (or a column's)
    operator: str
    values: tuple[Any, ...] = ()
    #: for EQ on a unique attribute: the value as the identifiers table holds it
    identifier: str | None = None


def _typed(t: ObjectType, f: Filter, value: Any) -> Any:
    """A filter value as the attribute stores it (a column's as it is kept)."""
    kind = COLUMNS.get(f.field)
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int):
            raise CrmError(f"{f.field}: expected a whole number, got {value!r}", field="filters")
        return value
    if kind == "datetime":
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        raise CrmError(f"{f.field}: expected a date-time, got {value!r}", field="filters")
    attr = t.attributes[f.field]
    if attr.type == "multiple_category":  # compared option by option
        attr = Attribute(attr.id, attr.key, attr.label, "category", options=attr.options)
    if attr.type == "date" and isinstance(value, date):
        value = value.isoformat()
    try:
        return check(attr, value)
    except ValueProblem as e:
        raise CrmError(f"{f.field}: {e}", field="filters") from None
    except Exception as e:  # an option label, say: Brevo ignores it, a search cannot
        raise CrmError(f"{f.field}: {e}", field="filters") from None


def _condition(t: ObjectType, f: Filter) -> Condition:
    if f.operator not in OPERATORS:
        raise CrmError(
            f"unknown operator {f.operator!r}; use one of {', '.join(sorted(OPERATORS))}",
            field="filters",
        )
    if f.field not in COLUMNS and f.field not in t.attributes:
        raise CrmError(f"{f.field!r} is not a property of {t.name}", field="filters")
    kind = COLUMNS.get(f.field) or t.attributes[f.field].type
    op = f.operator
    if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        return Condition(f.field, kind, op)
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        if not isinstance(f.value, str) or not f.value:
            raise CrmError(f"{f.field}: {op} needs a text value", field="filters")
        return Condition(f.field, kind, op, (f.value,))
    if op in ("IN", "NOT_IN"):
        if not f.values:
            raise CrmError(f"{f.field}: {op} needs values", field="filters")
        return Condition(f.field, kind, op, tuple(_typed(t, f, v) for v in f.values))
    if op == "BETWEEN":
        if f.value is None or f.high is None:
            raise CrmError(f"{f.field}: BETWEEN needs value and highValue", field="filters")
        return Condition(f.field, kind, op, (_typed(t, f, f.value), _typed(t, f, f.high)))
    if f.value is None:
        raise CrmError(f"{f.field}: {op} needs a value", field="filters")
    value = _typed(t, f, f.value)
    attr = t.attributes.get(f.field)
    identifier = identifier_of(attr, value) if op == "EQ" and attr and attr.unique else None
    return Condition(f.field, kind, op, (value,), identifier)


def _checked(t: ObjectType, q: Query) -> list[list[Condition]]:
    if len(q.groups) > MAX_GROUPS:
        raise OutOfRange(f"at most {MAX_GROUPS} filterGroups (got {len(q.groups)})")
    if any(len(g) > MAX_FILTERS_PER_GROUP for g in q.groups):
        raise OutOfRange(f"at most {MAX_FILTERS_PER_GROUP} filters in a filterGroup")
    if sum(len(g) for g in q.groups) > MAX_FILTERS:
        raise OutOfRange(f"at most {MAX_FILTERS} filters in all")
    if not 1 <= q.limit <= MAX_LIMIT:
        raise OutOfRange(f"limit must be 1 to {MAX_LIMIT} (got {q.limit})")
    if q.offset < 0 or q.offset + q.limit > MAX_RESULTS:
        raise OutOfRange(
            f"a search cannot page past {MAX_RESULTS:,} results (after {q.offset} + limit "
            f"{q.limit}); narrow the filters, or sort by id and filter on id > the last one seen"
        )
    if q.text is not None and len(q.text) > MAX_QUERY:
        raise OutOfRange(f"query: at most {MAX_QUERY} characters")
    if q.sort is not None and q.sort[0] not in COLUMNS and q.sort[0] not in t.attributes:
        raise CrmError(f"cannot sort by {q.sort[0]!r}: not a property of {t.name}", field="sorts")
    return [[_condition(t, f) for f in group] for group in q.groups if group]


def search(conn: Connection, t: ObjectType, q: Query) -> tuple[int, list[Any]]:
    """The total number of live records that match, and one page of them (``q.limit`` from
    ``q.offset``), in the order asked (then by id)."""
    return _run(conn, t, q, _checked(t, q))


#: the most records a page of :func:`listing` holds
MAX_LISTING = 1000


def listing(
    conn: Connection,
    t: ObjectType,
    q: Query,
    *,
    members_of: list[int] | None = None,
    max_limit: int = MAX_LISTING,
    count_up_to: int | None = None,
) -> tuple[int, list[Any]]:
    """A plain listing with the same filters: any offset, up to ``max_limit`` records a page
    (``0``: the count alone), optionally only the members of some contact lists, counting
    at most ``count_up_to`` of them."""
    if not 0 <= q.limit <= max_limit:
        raise OutOfRange(f"limit must be 0 to {max_limit} (got {q.limit})", field="limit")
    if q.offset < 0:
        raise OutOfRange(f"offset must be 0 or more (got {q.offset})", field="offset")
    groups = [[_condition(t, f) for f in group] for group in q.groups if group]
    return _run(conn, t, q, groups, members_of=members_of, count_up_to=count_up_to)


def _run(
    conn: Connection,
    t: ObjectType,
    q: Query,
    groups: list[list[Condition]],
    *,
    members_of: list[int] | None = None,
    count_up_to: int | None = None,
) -> tuple[int, list[Any]]:
    kinds = {key: a.type for key, a in t.attributes.items()} | COLUMNS
    # the text query looks in the searchable text attributes the schema names, else in all
    named = t.settings.get("searchable")
    keys = [k for k in named if k in t.attributes] if named is not None else list(t.attributes)
    texts = [k for k in keys if t.attributes[k].type in ("text", "email", "phone")]
    text = q.text.strip() if q.text and q.text.strip() else None
    return store.search(
        conn,
        t.id,
        groups,
        text=text,
        text_fields=texts,
        sort=(q.sort[0], q.sort[1], kinds[q.sort[0]]) if q.sort else None,
        limit=q.limit,
        offset=q.offset,
        members_of=members_of,
        count_up_to=count_up_to,
    )
