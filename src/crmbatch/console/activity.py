"""What the console's lists show, from the core's reads: processes with their failures, the
records that match a filter, and records applied per minute."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from crmbatch.core.errors import CrmError
from crmbatch.core.processes import service as processes
from crmbatch.core.processes import store as process_store
from crmbatch.core.records import service as records
from crmbatch.core.records import store as record_store
from crmbatch.core.schema.model import ObjectType
from crmbatch.core.search import service as search
from crmbatch.core.values import ValueProblem, from_text


def processes_page(
    conn: Connection,
    account_id: int,
    *,
    where: dict[str, str],
    failures: bool,
    before: int | None,
    limit: int,
    warnings: bool = False,
) -> list[dict[str, Any]]:
    """One page of the account's processes, newest first, as the native API shows them, with
    how many items carry warnings (``failures``: only those that failed or did not apply some
    items; ``warnings``: only those with warnings)."""
    rows = process_store.filtered(
        conn,
        account_id,
        where=where,
        before_id=before,
        limit=limit,
        failures=failures,
        warned=warnings,
    )
    return [{**processes.view(row, []), "warned": row["warned"]} for row in rows]


def with_failures(conn: Connection, account_id: int, *, limit: int) -> list[dict[str, Any]]:
    return processes_page(conn, account_id, where={}, failures=True, before=None, limit=limit)


@dataclass
class Series:
    """Records applied and failed per bucket of ``step`` minutes, oldest first."""

    step: int
    starts: list[datetime] = field(default_factory=list)
    applied: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    batches: int = 0

    @property
    def peak(self) -> int:
        return max([1, *self.applied, *self.failed])

    @property
    def total(self) -> int:
        return sum(self.applied)

    @property
    def total_failed(self) -> int:
        return sum(self.failed)


def series(completed: list[Any], now: datetime, *, minutes: int, step: int) -> Series:
    """Of the processes ``completed`` (completed_at, received, unapplied), those of the last
    ``minutes``, their records counted per ``step`` minutes."""
    n = minutes // step
    end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    start = end - timedelta(minutes=n * step)
    out = Series(step, [start + timedelta(minutes=i * step) for i in range(n)], [0] * n, [0] * n)
    for row in completed:
        at = row["completed_at"]
        if at is None:
            continue
        if at.tzinfo is None:
            at = at.replace(tzinfo=now.tzinfo)
        i = int((at - start).total_seconds() // (60 * step))
        if not 0 <= i < n:
            continue
        failed = int(row["unapplied"] or 0)
        out.applied[i] += max(0, int(row["received"] or 0) - failed)
        out.failed[i] += failed
        out.batches += 1
    return out


#: a records page counts its matches this far ("10,000+"), so it costs its rows on any type
COUNT_UP_TO = 10_000


def _typed(t: ObjectType, key: str, text: str) -> Any:
    """A value typed into the form, as the attribute (or column) holds it: numbers and booleans
    converted, the rest as text (option keys, dates)."""
    attr = t.attributes.get(key)
    try:
        if attr is None:  # id, created_at, updated_at
            return int(text) if search.COLUMNS.get(key) == "number" else text.strip()
        if attr.type in ("number", "boolean"):
            return from_text(attr, text)
    except (ValueError, ValueProblem) as e:
        raise CrmError(f"{key}: {e}", field="value") from None
    return text.strip()


@dataclass
class Found:
    total: int
    rows: list[dict[str, Any]]
    #: there are at least ``total`` (counting stopped there)
    capped: bool = False


def find_records(
    conn: Connection,
    t: ObjectType | None,
    *,
    id: int | None,
    ext_id: str | None,
    attr: str | None,
    value: str | None,
    prefix: bool,
    list_id: int | None,
    offset: int,
    limit: int,
) -> Found:
    """The records of ``t`` that match: by id, by ext_id, or an attribute's value (equal, or
    text that starts with it), optionally only the contacts of one list; newest first."""
    if t is None:
        return Found(0, [])
    if id is not None or ext_id:
        ids = [id] if id is not None else []
        if ext_id:
            ids += [r[0] for r in record_store.fetch(conn, t.id, ext_ids=[ext_id])]
        by_id = records.by_ids(conn, t, ids)
        return Found(len(by_id), list(by_id.values()))
    groups = []
    if attr and value is not None and value != "":
        if attr not in t.attributes and attr not in search.COLUMNS:
            raise CrmError(f"{t.name} has no attribute {attr!r}", field="attr")
        if prefix:
            groups = [[search.Filter(attr, "CONTAINS_TOKEN", value=value.rstrip("*") + "*")]]
        else:
            groups = [[search.Filter(attr, "EQ", value=_typed(t, attr, value))]]
    query = search.Query(groups=groups, sort=("id", True), limit=limit, offset=offset)
    total, rows = search.listing(
        conn,
        t,
        query,
        members_of=[list_id] if list_id else None,
        max_limit=limit,
        count_up_to=COUNT_UP_TO,
    )
    return Found(total, rows, capped=total >= COUNT_UP_TO)
