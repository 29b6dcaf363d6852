"""Signed completion webhooks: the outbox, retries, restarts, and which targets may be called.
Real servers and a real receiver on 127.0.0.1; both backends."""

from __future__ import annotations

import time
from typing import Any

import pytest

from crmbatch.core.accounts import service as accounts
from crmbatch.core.webhooks import service as webhooks
from crmbatch.core.webhooks import targets
from crmbatch.core.webhooks.service import verify
from crmbatch.delivery import Sender
from crmbatch.delivery import drain as send_due
from crmbatch.worker import drain
from tests.conftest import LiveServer, hook_settings, wait_process
from tests.helpers import submit
from tests.receiver import receiver

UPSERT = "/v3/objects/vehicle/batch/upsert"
ONE_CAR = {"records": [{"identifiers": {"ext_id": "car-1"}, "attributes": {"model": "Golf"}}]}


def deliveries(api: Any, process_id: int, *, until: str, timeout: float = 20) -> list[Any]:
    """The process's deliveries once the first reaches ``until``."""
    deadline = time.monotonic() + timeout
    while True:
        found = api.get(f"/v1/processes/{process_id}").json()["webhooks"]
        if found and found[0]["status"] == until:
            return list(found)
        if time.monotonic() > deadline:
            raise AssertionError(f"delivery of process {process_id} not {until}: {found}")
        time.sleep(0.05)


def secret_of(db: Any, account: Any, *, rotate: bool = False) -> str:
    with db.write() as conn:
        return accounts.webhook_secret(conn, account[0].name, rotate=rotate)


def test_failed_attempts_are_retried_until_exactly_one_succeeds(hook_api, db, account):
    with receiver([500, 503]) as hooks:
        r = hook_api.post(UPSERT, params={"notify_url": hooks.url}, json=ONE_CAR)
        assert r.status_code == 202, r.text
        pid = r.json()["processId"]
        (delivery,) = deliveries(hook_api, pid, until="delivered")
        time.sleep(0.5)  # several retry periods: nothing more may arrive
        got = hooks.wait_for(3)
    assert len(got) == 3 and hooks.answered == [500, 503, 200] and len(hooks.successes()) == 1
    assert {h.headers["x-crmbatch-delivery"] for h in got} == {delivery["id"]}
    assert len({h.body for h in got}) == 1  # the same body, signed the same, every time
    secret = secret_of(db, account)
    assert all(verify(secret, h.body, h.headers["x-crmbatch-signature"]) for h in got)
    assert delivery["attempts"] == 3 and delivery["last_status"] == 200
    assert delivery["last_error"] is None and delivery["delivered_at"]
    body = got[0].json()  # Brevo's batches announce the process in full
    assert body["id"] == pid and body["status"] == "completed"
    assert body["counts"]["created"] == 1 and body["results"][0]["ext_id"] == "car-1"


def test_a_rotated_secret_signs_the_next_delivery(hook_api, db, account):
    new = secret_of(db, account, rotate=True)
    with receiver() as hooks:
        hook_api.post(UPSERT, params={"notify_url": hooks.url}, json=ONE_CAR).raise_for_status()
        (hook,) = hooks.wait_for(1)
    assert verify(new, hook.body, hook.headers["x-crmbatch-signature"])
    assert not verify(new + "0", hook.body, hook.headers["x-crmbatch-signature"])


def test_restarts_between_accept_apply_and_delivery_lose_nothing(db, database_url, account):
    events = {"events": [{"event_name": "signup", "identifiers": {"email_id": "ann@example.com"}}]}
    with receiver() as hooks:
        # 1. a server without a worker accepts, and goes away
        quiet = hook_settings(database_url, embedded_worker=False)
        with LiveServer(quiet, db) as first, first.client(account[1]) as api:
            r = api.post("/v3/events/batch", params={"notify_url": hooks.url}, json=events)
            assert r.status_code == 202, r.text
            pid = r.json()["processId"]
        # 2. a worker alone applies it: the delivery waits in the outbox
        assert drain(db, quiet) == 1
        assert hooks.requests == []
        # 3. the next server sends it
        with (
            LiveServer(hook_settings(database_url), db) as second,
            second.client(account[1]) as api,
        ):
            (delivery,) = deliveries(api, pid, until="delivered")
            assert wait_process(api, pid)["counts"]["created"] == 1
    (hook,) = hooks.requests
    assert hook.headers["x-crmbatch-delivery"] == delivery["id"]
    assert hook.json()["results"][0]["contact"]["status"] == "created"


def test_redirects_are_not_followed(hook_api):
    elsewhere = {302: {"Location": "http://127.0.0.1:9/elsewhere"}}
    with receiver([302], answer_headers=elsewhere) as hooks:
        r = hook_api.post(UPSERT, params={"notify_url": hooks.url}, json=ONE_CAR)
        (delivery,) = deliveries(hook_api, r.json()["processId"], until="delivered")
    assert [h.path for h in hooks.requests] == ["/hooks/crm", "/hooks/crm"]
    assert delivery["attempts"] == 2


def test_a_delivery_gives_up_at_its_deadline(db, database_url, account):
    impatient = hook_settings(database_url, webhook_retry_for=0.4)
    with (
        receiver([500] * 100) as hooks,
        LiveServer(impatient, db) as server,
        server.client(account[1]) as api,
    ):
        r = api.post(UPSERT, params={"notify_url": hooks.url}, json=ONE_CAR)
        (delivery,) = deliveries(api, r.json()["processId"], until="failed")
        seen = len(hooks.requests)
        time.sleep(0.3)
        assert len(hooks.requests) == seen  # no attempt after giving up
    assert delivery["attempts"] == seen >= 2
    assert delivery["last_status"] == 500 and delivery["next_attempt_at"] is None


def test_private_targets_are_refused_when_the_switch_is_off(api, db, account):
    for url in ("http://127.0.0.1:8000/h", "http://[::1]/h", "http://169.254.169.254/latest"):
        r = api.post(UPSERT, params={"notify_url": url}, json=ONE_CAR)
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "invalid_parameter" and "notify_url" in r.json()["message"]
        r = api.post(
            "/v3/events/batch",
            params={"notify_url": url},
            json={"events": [{"event_name": "x", "identifiers": {"email_id": "a@example.com"}}]},
        )
        assert r.status_code == 400, r.text
    assert api.get("/v3/processes", params={"limit": 10, "offset": 0}).json()["count"] == 0


def test_every_attempt_checks_the_address_again(db, settings, account):
    """A name that resolved to a public address at accept but to a private one now is not
    called: the attempt fails, and the delivery waits for the next."""
    pid = submit(db, account[0].id, [{"ext_id": "car-1", "attributes": {}}])
    with db.write() as conn:  # as if accepted with a public name
        conn.exec_driver_sql(
            "UPDATE processes SET notify_url = 'http://hooks.example.com/h' WHERE id = " + str(pid)
        )
    drain(db, settings)
    rebound = Sender(allow_private=False, timeout=1, resolve=lambda host, port: ["10.0.0.7"])
    assert send_due(db, settings, sender=rebound) == 1
    with db.read() as conn:
        (delivery,) = webhooks.of_process(conn, pid)
    assert delivery["status"] == "pending" and delivery["attempts"] == 1
    assert delivery["last_status"] is None and "private address" in delivery["last_error"]


@pytest.mark.parametrize(
    ("url", "resolved", "refused"),
    [
        ("https://hooks.example.com/x", ["93.184.216.34"], None),
        ("http://93.184.216.34:8080/x", [], None),
        ("http://127.0.0.1/x", [], "loopback"),
        ("http://localhost/x", ["127.0.0.1"], "loopback"),
        ("http://[::1]/x", [], "loopback"),
        ("http://[::ffff:127.0.0.1]/x", [], "loopback"),
        ("http://10.0.0.1/x", [], "private"),
        ("http://192.168.1.20/x", [], "private"),
        ("http://inside.example.com/x", ["93.184.216.34", "172.16.0.9"], "private"),
        ("http://169.254.169.254/latest/meta-data", [], "link-local"),
        ("http://224.0.0.1/x", [], "multicast"),
        ("http://0.0.0.0/x", [], "unspecified"),
        ("ftp://example.com/x", [], "only http and https"),
        ("http:///x", [], "no host"),
        ("http://user:pw@example.com/x", ["93.184.216.34"], "credentials"),
        ("http://gone.example.com/x", [], "does not resolve"),
        ("http://example.com:99999/x", [], "not a valid URL"),
    ],
)
def test_which_targets_may_be_called(url, resolved, refused):
    def resolve(host: str, port: int) -> list[str]:
        return resolved

    if refused is None:
        target = targets.check(url, allow_private=False, resolve=resolve)
        assert target.address == (resolved[0] if resolved else target.host)
        return
    with pytest.raises(targets.UnsafeTarget, match=refused):
        targets.check(url, allow_private=False, resolve=resolve)


def test_the_operator_may_allow_private_targets():
    target = targets.check("http://127.0.0.1:8080/h", allow_private=True)
    assert (target.address, target.port, target.scheme) == ("127.0.0.1", 8080, "http")


def test_signatures_are_hmac_sha256_of_the_body():
    import hashlib
    import hmac

    body = b'{"id":1}'
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert webhooks.sign("s3cret", body) == expected
    assert verify("s3cret", body, expected) and not verify("other", body, expected)


def test_a_process_that_fails_for_good_is_announced_too(db, database_url, account):
    from crmbatch.core.processes import service as processes

    settings = hook_settings(database_url)
    with receiver() as hooks:
        with db.write() as conn:  # a payload the engine cannot apply: every attempt fails
            broken = processes.Submission(
                "objects_upsert", "vehicle", {"object_type": "vehicle", "records": "not a list"}, 1
            )
            pid = processes.accept(
                conn, account[0].id, broken, dialect="brevo", notify_url=hooks.url
            ).process_id
        drain(db, settings)
        send_due(db, settings)
        (got,) = hooks.wait_for(1)
    body = got.json()
    assert body["id"] == pid and body["status"] == "failed" and body["attempts"] == 5
    assert body["error"] and body["results"] == []
    assert verify(secret_of(db, account), got.body, got.headers["x-crmbatch-signature"])
