"""Rate limiting per API key: off by default; when set, a key over its limit gets 429 with
Retry-After and its dialect's own headers, other keys go on, and crmbatch's client waits it out."""

from __future__ import annotations

import pytest

from crmbatch.client import Client
from crmbatch.config import ConfigError, Settings
from crmbatch.ratelimit import RateLimiter, parse
from tests.conftest import VEHICLE_SCHEMA, LiveServer, make_account

BATCH = {"records": [{"identifiers": {"ext_id": "car-1"}, "attributes": {"model": "Golf"}}]}


@pytest.fixture
def limited(db, database_url):
    settings = Settings(
        database_url=database_url, embedded_worker=True, poll_interval=0.01, rate_limit="3/10s"
    )
    with LiveServer(settings, db) as live:
        yield live


def test_a_key_over_its_limit_gets_429_in_each_dialect(limited, db):
    _, key = make_account(db, schema=VEHICLE_SCHEMA)
    _, other = make_account(db, schema=VEHICLE_SCHEMA)
    with limited.client(key) as c, limited.client(other) as o:
        remaining = []
        for path in ("/v1/schema", "/v3/objects/vehicle/records?limit=1&page_num=1"):
            r = c.get(path)
            assert r.status_code == 200
            remaining.append(
                r.headers.get("x-ratelimit-remaining") or r.headers.get("x-sib-ratelimit-remaining")
            )
        ok = c.get("/crm/v3/objects/vehicle")
        assert ok.status_code == 200 and ok.headers["x-hubspot-ratelimit-remaining"] == "0"
        assert remaining == ["2", "1"]  # every answer says what is left, in its dialect's names
        brevo = c.post("/v3/objects/vehicle/batch/upsert", json=BATCH)
        hubspot = c.get("/crm/v3/objects/vehicle")
        native = c.get("/v1/schema")
        assert o.get("/v1/schema").status_code == 200  # another key has its own bucket

    assert brevo.status_code == 429
    assert brevo.json()["code"] == "too_many_requests"
    assert 1 <= int(brevo.headers["retry-after"]) <= 4
    assert brevo.headers["x-sib-ratelimit-limit"] == "3"
    assert brevo.headers["x-sib-ratelimit-remaining"] == "0"
    assert 1 <= int(brevo.headers["x-sib-ratelimit-reset"]) <= 10

    assert hubspot.status_code == 429
    assert hubspot.json()["errorType"] == "RATE_LIMIT"
    assert hubspot.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert hubspot.headers["x-hubspot-ratelimit-max"] == "3"
    assert hubspot.headers["x-hubspot-ratelimit-interval-milliseconds"] == "10000"
    assert "retry-after" in hubspot.headers

    assert native.status_code == 429 and native.headers["x-ratelimit-limit"] == "3"
    with db.read() as conn:  # the refused upsert stored nothing
        assert conn.exec_driver_sql("SELECT count(*) FROM processes").scalar() == 0


def test_the_client_waits_out_the_limit(db, database_url):
    _, key = make_account(db, schema=VEHICLE_SCHEMA)
    settings = Settings(
        database_url=database_url, embedded_worker=True, poll_interval=0.01, rate_limit="20/s"
    )
    rows = [
        {"identifiers": {"ext_id": f"car-{i}"}, "attributes": {"model": "x"}} for i in range(60)
    ]
    with LiveServer(settings, db) as live, Client(live.base_url, key, retries=20) as c:
        report = c.objects("vehicle").upsert(rows, batch_size=2)  # 30 batches, 60+ requests
    assert report.ok and report.counts["created"] == 60


def test_limits_are_parsed_or_refused_by_name():
    assert (
        parse("100/10s") == (100, 10.0) and parse("5/s") == (5, 1.0) and parse("60/m") == (60, 60)
    )
    with pytest.raises(ConfigError, match="CRMBATCH_RATE_LIMIT"):
        Settings.from_env({"CRMBATCH_RATE_LIMIT": "lots"})
    assert Settings.from_env({}).rate_limit is None


def test_the_bucket_refills_steadily():
    limiter = RateLimiter(*parse("2/s"))
    assert [limiter.take("k", now=0).allowed for _ in range(3)] == [True, True, False]
    assert limiter.take("k", now=0.25).allowed is False
    assert limiter.take("k", now=0.6).allowed is True
    assert limiter.take("other", now=0.6).allowed is True
