"""Cut a stream of records into request bodies that respect the server's limits.

Each record is serialised once, so a body's size is known before it is sent; nothing but the
batch being built is held in memory, whatever the length of the stream.
"""

from __future__ import annotations

import hashlib
import uuid
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

#: Brevo's limits on an objects batch: 1000 records, 1 MB
MAX_RECORDS = 1000
MAX_BYTES = 1024 * 1024
#: and on an events batch: 200 events, 512 KB
MAX_EVENTS = 200
MAX_EVENT_BYTES = 512 * 1024

#: the JSON around the records of a body
OBJECTS = (b'{"records":[', b"]}")
EVENTS = (b'{"events":[', b"]}")


@dataclass
class Chunk:
    """One request body and where its records came from."""

    #: 0-based, in the order the chunks were cut
    number: int
    #: the position of each record, in body order
    positions: array[int]
    body: bytes
    #: the Idempotency-Key sent with it (the same on every retry)
    key: str
    #: each record as sent, until its batch is reported (a failure shows its record)
    parts: list[bytes] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.positions)

    def record(self, index: int) -> Any:
        """The record at ``index`` of this body, as it was sent."""
        return orjson.loads(self.parts[index]) if index < len(self.parts) else None


@dataclass(frozen=True)
class Oversized:
    """A record that alone makes a body over the limit: it cannot be sent."""

    position: int
    size: int
    limit: int


KeyFor = Callable[[int, bytes], str]


def random_keys() -> KeyFor:
    """A fresh key per chunk: a retry never applies twice, another call always applies."""
    return lambda number, body: str(uuid.uuid4())


def derived_keys(namespace: str) -> KeyFor:
    """Keys derived from ``namespace``, the chunk's number and its body: the same input sent
    again (within the server's 24 hours) is recognised and not applied a second time."""

    def key(number: int, body: bytes) -> str:
        digest = hashlib.sha256(body).hexdigest()[:40]
        return f"{namespace}:{number}:{digest}"

    return key


class Cutter:
    """Takes records one at a time and hands back each body as soon as it is full.

    Both clients drive it: the blocking one from any iterable, the asyncio one from an async
    iterable too.
    """

    def __init__(
        self,
        *,
        key_for: KeyFor,
        max_records: int = MAX_RECORDS,
        max_bytes: int = MAX_BYTES,
        envelope: tuple[bytes, bytes] = OBJECTS,
    ) -> None:
        if max_records < 1:
            raise ValueError("max_records must be at least 1")
        self.key_for = key_for
        self.max_records = max_records
        self.max_bytes = max_bytes
        self.head, self.tail = envelope
        self.room = max_bytes - len(self.head) - len(self.tail)
        self.number = 0
        self._parts: list[bytes] = []
        self._positions: array[int] = array("q")
        self._size = 0  # bytes of the parts and the commas between them

    def add(self, position: int, record: object) -> Chunk | Oversized | None:
        """Take one record; the chunk it closed (the records before it), an :class:`Oversized`
        for a record that cannot be sent, or ``None``."""
        data = orjson.dumps(record)
        if len(data) > self.room:
            return Oversized(position, len(data), self.max_bytes)
        closed = None
        parts = self._parts
        if parts and (len(parts) >= self.max_records or self._size + 1 + len(data) > self.room):
            closed = self.flush()
        self._size += len(data) + (1 if self._parts else 0)
        self._parts.append(data)
        self._positions.append(position)
        return closed

    def flush(self) -> Chunk | None:
        """The chunk of the records taken so far, if any."""
        if not self._parts:
            return None
        body = b"".join((self.head, b",".join(self._parts), self.tail))
        chunk = Chunk(
            self.number, self._positions, body, self.key_for(self.number, body), self._parts
        )
        self.number += 1
        self._parts, self._positions, self._size = [], array("q"), 0
        return chunk


def chunks(items: Iterable[tuple[int, object]], cutter: Cutter) -> Iterator[Chunk | Oversized]:
    """The chunks of ``items`` (``(position, record)`` pairs), in order; a record too large
    alone is yielded as :class:`Oversized` and left out."""
    for position, record in items:
        piece = cutter.add(position, record)
        if piece is not None:
            yield piece
    last = cutter.flush()
    if last is not None:
        yield last


def _keys(resume: str | None, what: str) -> KeyFor:
    return derived_keys(f"{resume}:{what}") if resume else random_keys()


def objects_cutter(
    object_type: str, *, batch_size: int = MAX_RECORDS, resume: str | None = None
) -> Cutter:
    """Bodies of ``POST /v3/objects/{type}/batch/upsert``: 1000 records, 1 MB."""
    return Cutter(
        key_for=_keys(resume, object_type),
        max_records=min(batch_size, MAX_RECORDS),
        max_bytes=MAX_BYTES,
        envelope=OBJECTS,
    )


def events_cutter(*, resume: str | None = None) -> Cutter:
    """Bodies of ``POST /v3/events/batch``: 200 events, 512 KB."""
    return Cutter(
        key_for=_keys(resume, "events"),
        max_records=MAX_EVENTS,
        max_bytes=MAX_EVENT_BYTES,
        envelope=EVENTS,
    )
