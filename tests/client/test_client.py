"""crmbatch.client against a real server on both backends: any number of records cut into
batches, reported record by record, retried without applying anything twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

import crmbatch.client
from crmbatch.client import (
    AsyncClient,
    Client,
    NotFound,
    Progress,
    TransportError,
    Unauthorized,
)
from tests.client.stores import counts
from tests.proxy import DOWN, LOST, proxy


def vehicles(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "identifiers": {"ext_id": f"car-{i}"},
            "attributes": {"model": f"Model {i}", "year": 1990 + i % 30},
        }
        for i in range(start, start + n)
    ]


def ghost(record_id: int) -> dict[str, Any]:
    """A record naming an id that does not exist: failed by the server (ids only update)."""
    return {"identifiers": {"id": record_id}, "attributes": {"model": "ghost"}}


def test_the_public_names_are_exported():
    for name in crmbatch.client.__all__:
        assert hasattr(crmbatch.client, name), name
    assert {"Client", "AsyncClient", "Report", "CrmbatchError"} <= set(crmbatch.client.__all__)


def test_upsert_cuts_any_iterable_into_batches_and_reports_each_record(server, account, db):
    acct, key = account
    rows = vehicles(2500)
    rows[7] = ghost(10**12)
    rows[1600] = ghost(10**12 + 1)
    seen: list[Progress] = []
    with Client(server.base_url, key, concurrency=3) as c:
        report = c.objects("vehicle").upsert(iter(rows), on_progress=seen.append)
        page = c.objects("vehicle").records(limit=1)

    assert report.batches == 3 and len(set(report.processes)) == 3
    assert report.counts["received"] == 2500
    assert report.counts["created"] == 2498
    assert report.failed == 2 and not report.ok
    assert [f.index for f in report.failures] == [7, 1600]
    assert {f.errors[0]["code"] for f in report.failures} == {"record_not_found"}
    assert report.failures[0].id == 10**12
    assert seen[-1] == Progress(sent=2500, applied=2498, failed=2)
    assert page["count"] == 2498
    assert counts(db, acct.id) == (2498, 2498, 3)


def test_a_dry_run_reports_what_the_server_would_do_and_writes_nothing(server, account, db):
    acct, key = account
    with Client(server.base_url, key) as c:
        c.objects("vehicle").upsert(vehicles(3))
        before = counts(db, acct.id)
        rows = [*vehicles(1200, start=2), ghost(10**12)]
        report = c.objects("vehicle").upsert(rows, dry_run=True)

    async def planned_async() -> Any:
        async with AsyncClient(server.base_url, key) as c:
            return await c.objects("vehicle").upsert(rows, dry_run=True)

    for planned in (report, asyncio.run(planned_async())):
        assert planned.dry_run and planned.batches == 2 and planned.processes == []
        assert planned.counts["received"] == 1201
        assert (planned.counts["updated"], planned.counts["unchanged"]) == (0, 1)
        assert planned.counts["created"] == 1199 and planned.counts["failed"] == 1
        assert [(f.index, f.errors[0]["code"]) for f in planned.failures] == [
            (1200, "record_not_found")
        ]
    assert counts(db, acct.id) == before


def test_bodies_stay_under_one_megabyte(server, account, db):
    acct, key = account
    big = [
        {"identifiers": {"ext_id": f"big-{i}"}, "attributes": {"model": "x" * 60_000}}
        for i in range(40)
    ]
    with Client(server.base_url, key) as c:
        report = c.objects("vehicle").upsert(big)
    assert report.ok and report.counts["created"] == 40
    assert report.batches == 3  # 40 x 60 KB: 17 fit in a megabyte
    assert counts(db, acct.id)[0] == 40


def test_a_record_too_large_alone_is_reported_not_sent(server, account):
    _, key = account
    rows = [*vehicles(2), {"attributes": {"model": "x" * 1_100_000}}]
    with Client(server.base_url, key) as c:
        report = c.objects("vehicle").upsert(rows)
    assert report.counts["created"] == 2
    assert [(f.index, f.status, f.errors[0]["code"]) for f in report.failures] == [
        (2, "invalid", "record_too_large")
    ]


def test_the_same_records_with_a_resume_name_apply_once(server, account, db):
    acct, key = account
    with Client(server.base_url, key) as c:
        first = c.objects("vehicle").upsert(vehicles(1500), resume="nightly")
        again = c.objects("vehicle").upsert(vehicles(1500), resume="nightly")
        fresh = c.objects("vehicle").upsert(vehicles(1500))

    assert first.counts["created"] == 1500 and first.replayed == 0
    assert again.processes == first.processes
    assert again.replayed_batches == 2 and again.replayed == 1500
    assert again.counts["created"] == 0 and again.applied == 1500 and again.ok
    # without the name, the batches are new ones: applied again, changing nothing
    assert fresh.counts["unchanged"] == 1500
    assert counts(db, acct.id) == (1500, 1500, 4)


def test_the_async_client_takes_an_async_iterable(server, account, db):
    acct, key = account

    async def rows() -> AsyncIterator[dict[str, Any]]:
        for row in vehicles(1200):
            yield row

    async def main() -> Any:
        async with AsyncClient(server.base_url, key, concurrency=2) as c:
            report = await c.objects("vehicle").upsert(rows())
            process = await c.process(report.processes[0])
            return report, process

    report, process = asyncio.run(main())
    assert report.ok and report.counts["created"] == 1200 and report.batches == 2
    assert process["status"] == "completed" and len(process["results"]) in (1000, 200)
    assert counts(db, acct.id)[0] == 1200


def test_errors_are_typed_and_carry_the_servers_message(server, account):
    _, key = account
    with Client(server.base_url, "not-a-key", retries=0) as c, pytest.raises(Unauthorized) as e:
        c.objects("vehicle").upsert(vehicles(1))
    assert e.value.status_code == 401 and "Key not found" in e.value.message
    with Client(server.base_url, key, retries=0) as c:
        with pytest.raises(NotFound) as missing:
            c.process(987654321)
        assert "987654321" in missing.value.message
        with pytest.raises(NotFound):
            c.objects("spaceship").upsert(vehicles(1))


def test_a_batch_the_server_refuses_fails_its_records_and_the_rest_go_on(server, account):
    _, key = account
    rows = vehicles(30)
    rows[25] = {"identifiers": {"id": "not-a-number"}, "attributes": {"model": "x"}}
    with Client(server.base_url, key) as c:
        report = c.objects("vehicle").upsert(rows, batch_size=20)
    assert report.counts["created"] == 20
    assert [f.index for f in report.failures] == list(range(20, 30))
    assert {f.status for f in report.failures} == {"rejected"}


def test_429_and_503_are_retried_and_a_lost_answer_applies_once(server, account, db):
    acct, key = account
    # batch 1: 429, 503, then it arrives but its answer is lost, then the retry is answered
    with (
        proxy(server.base_url, [429, 503, LOST]) as double,
        Client(double.url, key, concurrency=1, backoff=0.01) as c,
    ):
        report = c.objects("vehicle").upsert(vehicles(2500))

    keys = [k for _, k in double.seen]
    assert [a for a, _ in double.seen][:4] == [429, 503, LOST, "forward"]
    assert len(set(keys[:4])) == 1, "every try of a batch carries the same Idempotency-Key"
    assert len(set(keys)) == 3
    assert report.ok and report.counts["created"] == 2500 and report.replayed == 0
    assert counts(db, acct.id) == (2500, 2500, 3)


def test_the_client_gives_up_when_the_network_stays_down(server, account):
    _, key = account
    with (
        proxy(server.base_url, then=DOWN) as double,
        Client(double.url, key, retries=2, backoff=0.01) as c,
        pytest.raises(TransportError),
    ):
        c.objects("vehicle").upsert(vehicles(10))
    assert len(double.seen) == 3


def test_batches_are_accepted_in_order_so_a_later_value_wins(server, account):
    _, key = account
    rows = vehicles(5000)
    for n in range(5):  # car-0 in every batch, its model the batch's number
        rows[n * 1000] = {"identifiers": {"ext_id": "car-0"}, "attributes": {"model": f"v{n}"}}

    async def push_async() -> Any:
        async with AsyncClient(server.base_url, key, concurrency=4) as c:
            return await c.objects("vehicle").upsert(rows)

    with Client(server.base_url, key, concurrency=4) as c:
        report = c.objects("vehicle").upsert(rows)
        page = c.objects("vehicle").records(limit=1, sort="asc")
        assert report.ok and page["records"][0]["attributes"]["model"] == "v4"
        for n in range(5):
            rows[n * 1000]["attributes"]["model"] = f"w{n}"
        assert asyncio.run(push_async()).ok
        page = c.objects("vehicle").records(limit=1, sort="asc")
    assert page["records"][0]["attributes"]["model"] == "w4"
    assert report.processes == sorted(report.processes)


def test_events_of_any_number_are_sent_200_at_a_time_and_refused_ones_named(server, account):
    _, key = account
    events = [
        {"event_name": "page_viewed", "identifiers": {"email_id": f"u{i % 40}@example.com"}}
        for i in range(450)
    ]
    events[210] = {"event_name": "bad name!", "identifiers": {"email_id": "x@example.com"}}
    with Client(server.base_url, key) as c:
        report = c.events(events)
    assert report.batches == 3
    assert report.counts["received"] == 449
    assert [(f.index, f.status) for f in report.failures] == [(210, "rejected")]
    assert "event_name" in report.failures[0].reasons


def test_against_a_server_without_v1_processes_are_followed_by_status(server, account, db):
    acct, key = account
    with (
        proxy(server.base_url, hide=("/v1/",)) as brevo_only,
        Client(brevo_only.url, key) as c,
    ):
        report = c.objects("vehicle").upsert(vehicles(1200))
        assert c.speaks_native() is False
    assert report.ok and report.unreported == 1200 and report.applied == 1200
    assert report.counts["created"] == 0  # such a server does not say
    assert counts(db, acct.id)[0] == 1200
