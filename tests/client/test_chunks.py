"""Cutting records into request bodies: a property over any records and limits, no I/O."""

from __future__ import annotations

import email.utils
import time

import httpx
import orjson
from hypothesis import given
from hypothesis import strategies as st

from crmbatch.client import base
from crmbatch.client.chunks import EVENTS, OBJECTS, Chunk, Cutter, Oversized, chunks, derived_keys

records = st.lists(
    st.fixed_dictionaries(
        {"attributes": st.dictionaries(st.text(max_size=5), st.text(max_size=80))}
    ),
    max_size=60,
)


@given(
    records,
    st.integers(min_value=1, max_value=10),
    st.integers(min_value=60, max_value=600),
    st.sampled_from([OBJECTS, EVENTS]),
)
def test_every_record_lands_in_order_in_one_body_within_the_limits(rows, most, limit, envelope):
    pieces = list(
        chunks(
            enumerate(rows),
            Cutter(key_for=derived_keys("t"), max_records=most, max_bytes=limit, envelope=envelope),
        )
    )
    sent: list[int] = []
    too_large: list[int] = []
    for n, piece in enumerate(p for p in pieces if isinstance(p, Chunk)):
        assert piece.number == n
        assert len(piece) <= most and len(piece.body) <= limit
        parsed = orjson.loads(piece.body)
        body_records = parsed["records"] if envelope == OBJECTS else parsed["events"]
        assert body_records == [rows[i] for i in piece.positions]
        sent.extend(piece.positions)
    for piece in pieces:
        if isinstance(piece, Oversized):
            assert piece.size + len(envelope[0]) + len(envelope[1]) > limit
            too_large.append(piece.position)
    assert sent == sorted(sent)
    assert sorted(sent + too_large) == list(range(len(rows)))


def test_keys_are_derived_from_the_name_the_batch_and_its_bytes():
    key = derived_keys("sync:a.csv:vehicle")
    assert key(0, b"x") == key(0, b"x")
    assert len({key(0, b"x"), key(1, b"x"), key(0, b"y")}) == 3
    assert len(key(123456, b"x")) <= 255


def test_retry_after_is_read_as_seconds_or_a_date():
    def answer(value: str) -> httpx.Response:
        return httpx.Response(429, headers={"retry-after": value})

    assert base.delay(0, answer("3"), backoff=100) == 3
    in_five = email.utils.formatdate(time.time() + 5, usegmt=True)
    assert 3 <= base.delay(0, answer(in_five), backoff=100) <= 5
    assert base.delay(0, answer("3600"), backoff=1) == base.MAX_DELAY
    assert 0.5 <= base.delay(1, None, backoff=0.5) <= 1.0  # no header: backoff with jitter
