"""Accept batches of events (each checked alone; the valid ones are stored as one process) and
read events back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from crmbatch.core import clock
from crmbatch.core.errors import CrmError, OutOfRange
from crmbatch.core.events import store
from crmbatch.core.events.validate import MAX_EVENTS, EventChecker, event_date
from crmbatch.core.processes import service as processes
from crmbatch.core.records.validate import AttributeChecker, typed_check
from crmbatch.core.schema import service as schemas
from crmbatch.core.schema.model import AccountSchema
from crmbatch.core.values import ValueProblem

KIND_EVENTS = "events_batch"
CONTACT = "contact"
DEFAULT_WINDOW = timedelta(days=183)
MAX_LIMIT = 10_000


@dataclass
class EventsChecked:
    """A batch of events checked one by one: the valid ones as a submission, the refused ones
    with their problems."""

    total: int
    #: the valid events, as a process stores them; None when none was valid
    submission: processes.Submission | None
    #: (index in the batch, problems) of each event refused
    refused: list[tuple[int, list[tuple[str, str]]]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return self.total - len(self.refused)


@dataclass
class EventsAccepted(EventsChecked):
    """What became of a batch of events at accept."""

    #: the process holding the valid events; None when none was valid
    accepted: processes.Accepted | None = None


def events_submission(
    schema: AccountSchema, events: list[dict[str, Any]], *, identity_fields: dict[str, str]
) -> EventsChecked:
    """Check every event; the valid ones make one submission (kind ``events_batch``) in the
    contacts' partition, so they apply in order with every other change to contacts."""
    n = len(events)
    if n == 0 or n > MAX_EVENTS:
        raise OutOfRange(
            f"events cannot be empty or more than {MAX_EVENTS} (got {n})", field="events"
        )
    contact = schema.types[CONTACT]
    # anything not an object fails the typed check: the checker then says what is wrong
    clean = typed_check(contact).clean([p for e in events if (p := e.get("contact_properties"))])
    checker = EventChecker(
        AttributeChecker(contact), identity_fields, contact_properties_clean=clean
    )
    valid: list[dict[str, Any]] = []
    refused: list[tuple[int, list[tuple[str, str]]]] = []
    for index, raw in enumerate(events):
        checked = checker.check(raw)
        if checked.problems:
            refused.append((index, checked.problems))
        else:
            valid.append({**checked.event, "index": index})
    if not valid:
        return EventsChecked(n, None, refused)
    payload = {"fingerprint": contact.fingerprint(), "events": valid}
    return EventsChecked(
        n, processes.Submission(KIND_EVENTS, CONTACT, payload, len(valid)), refused
    )


def accept_events(
    conn: Connection,
    account_id: int,
    events: list[dict[str, Any]],
    *,
    dialect: str,
    identity_fields: dict[str, str],
    idempotency_key: str | None = None,
    digest: str | None = None,
    notify_url: str | None = None,
) -> EventsAccepted:
    """Check every event and store the valid ones as one process."""
    checked = events_submission(
        schemas.load(conn, account_id), events, identity_fields=identity_fields
    )
    if checked.submission is None:
        return EventsAccepted(checked.total, None, checked.refused)
    accepted = processes.accept(
        conn,
        account_id,
        checked.submission,
        dialect=dialect,
        idempotency_key=idempotency_key,
        digest=digest,
        notify_url=notify_url,
    )
    return EventsAccepted(checked.total, checked.submission, checked.refused, accepted)


def _window(start: str | None, end: str | None) -> tuple[datetime, datetime]:
    """``startDate``/``endDate`` (YYYY-MM-DD or RFC 3339; both or neither): the default is the
    last six months. A bare end date includes that whole day."""
    if (start is None) != (end is None):
        missing = "endDate" if end is None else "startDate"
        raise CrmError(f"{missing} is required when the other is given", field=missing)
    if start is None or end is None:
        now = clock.now()
        return now - DEFAULT_WINDOW, now + timedelta(seconds=1)
    lo, hi = _day_or_time(start, "startDate"), _day_or_time(end, "endDate", end_of_day=True)
    if lo > hi:
        raise CrmError("startDate must not be after endDate", field="startDate")
    return lo, hi


def _day_or_time(value: str, name: str, *, end_of_day: bool = False) -> datetime:
    try:
        if len(value) != 10:
            return event_date(value)
        day = datetime.fromisoformat(value + "T00:00:00+00:00")
    except (ValueError, ValueProblem):
        raise CrmError(
            f"{name}: expected YYYY-MM-DD or RFC 3339, got {value!r}", field=name
        ) from None
    if not end_of_day:
        return day
    try:
        return day + timedelta(days=1)
    except OverflowError:  # the end of 9999-12-31: the end of time, as far as dates go
        return datetime.max.replace(tzinfo=UTC)


def page(
    conn: Connection,
    account_id: int,
    *,
    contact_ids: list[int],
    names: list[str],
    object_types: list[str],
    start: str | None,
    end: str | None,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    """Events matching every filter given, newest first, with the total count."""
    if not 1 <= limit <= MAX_LIMIT:
        raise OutOfRange(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    lo, hi = _window(start, end)
    total, rows = store.page(
        conn,
        account_id,
        contact_ids=contact_ids,
        names=names,
        object_types=object_types,
        since=lo,
        until=hi,
        limit=limit,
        offset=offset,
    )
    return total, [dict(r) for r in rows]


def latest_for_contact(
    conn: Connection, account_id: int, contact_id: int, limit: int = 10
) -> list[dict[str, Any]]:
    """A contact's most recent events, newest first."""
    return [dict(r) for r in store.latest_for_contact(conn, account_id, contact_id, limit)]
