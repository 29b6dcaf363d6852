"""The one place that reads the wall clock (tests may patch ``now``)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache


def now() -> datetime:
    return datetime.now(UTC)


def iso(ts: datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds and ``Z``: ``2025-07-22T10:20:30.123Z``."""
    if ts is None:
        return None
    return _iso(ts)


@lru_cache(maxsize=4096)  # a batch's records share a handful of timestamps
def _iso(ts: datetime) -> str:
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
