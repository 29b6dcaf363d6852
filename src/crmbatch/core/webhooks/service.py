"""The webhook outbox: a delivery is written with the process it announces (same transaction),
then sent by a worker until the target answers 2xx or the delivery's deadline passes.

Every attempt carries the same ``X-Crmbatch-Delivery`` id and body, signed with the account's
webhook secret: ``X-Crmbatch-Signature: sha256=<hex HMAC-SHA256 of the body>``. Delivery is at
least once: a worker that dies after the target answered but before it wrote down the answer
sends again, and the receiver drops the repeat by its delivery id.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection, RowMapping

from crmbatch.core import clock
from crmbatch.core.errors import NotFound
from crmbatch.core.webhooks import store

SIGNATURE_HEADER = "X-Crmbatch-Signature"
DELIVERY_HEADER = "X-Crmbatch-Delivery"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: attempt n waits base·2ⁿ⁻¹ (at most ``cap``), drawn
    between half and all of it, until ``give_up_after`` has passed since the process completed."""

    base: float = 10.0
    cap: float = 3600.0
    give_up_after: float = 24 * 3600.0

    def delay(self, attempts: int, rng: random.Random | None = None) -> float:
        full = min(self.cap, self.base * 2 ** max(0, attempts - 1))
        return full * (rng or random).uniform(0.5, 1.0)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    """What a receiver does: recompute the signature and compare in constant time."""
    return hmac.compare_digest(sign(secret, body), signature)


def enqueue(
    conn: Connection, announced: list[tuple[Any, bytes]], *, at: datetime, policy: RetryPolicy
) -> int:
    """One delivery for each ``(completed process, the body announcing it)``; how many."""
    deadline = at + timedelta(seconds=policy.give_up_after)
    rows = [
        {
            "uuid": str(uuid.uuid4()),
            "account_id": p["account_id"],
            "process_id": p["id"],
            "url": p["notify_url"],
            "body": body,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": at,
            "deadline": deadline,
            "created_at": at,
        }
        for p, body in announced
    ]
    store.insert(conn, rows)
    return len(rows)


def claim_due(
    conn: Connection, *, limit: int, lease_seconds: float, skip_locked: bool
) -> list[RowMapping]:
    now = clock.now()
    return store.claim_due(
        conn,
        now=now,
        lease_until=now + timedelta(seconds=lease_seconds),
        limit=limit,
        skip_locked=skip_locked,
    )


def record(
    conn: Connection,
    delivery: Any,
    *,
    status_code: int | None,
    error: str | None,
    policy: RetryPolicy,
    at: datetime | None = None,
) -> str:
    """Write down an attempt's outcome; the delivery's new status (pending while retrying)."""
    at = at or clock.now()
    if status_code is not None and 200 <= status_code < 300:
        store.record_attempt(
            conn,
            delivery["id"],
            status="delivered",
            last_status=status_code,
            last_error=None,
            last_attempt_at=at,
            delivered_at=at,
        )
        return "delivered"
    next_at = at + timedelta(seconds=policy.delay(delivery["attempts"] + 1))
    status = "failed" if next_at > delivery["deadline"] else "pending"
    store.record_attempt(
        conn,
        delivery["id"],
        status=status,
        last_status=status_code,
        last_error=(error or "")[:1000] or None,
        last_attempt_at=at,
        next_attempt_at=next_at,
    )
    return status


def of_process(conn: Connection, process_id: int) -> list[dict[str, Any]]:
    """The deliveries announcing a process, as users see them."""
    return [_shown(r) for r in store.of_process(conn, process_id)]


def _shown(r: Any) -> dict[str, Any]:
    return {
        "id": r["uuid"],
        "url": r["url"],
        "status": r["status"],
        "attempts": r["attempts"],
        "last_status": r["last_status"],
        "last_error": r["last_error"],
        "last_attempt_at": clock.iso(r["last_attempt_at"]),
        "next_attempt_at": clock.iso(r["next_attempt_at"]) if r["status"] == "pending" else None,
        "delivered_at": clock.iso(r["delivered_at"]),
    }


def of_account(
    conn: Connection,
    account_id: int,
    *,
    status: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
    failing: bool = False,
) -> list[dict[str, Any]]:
    """The account's deliveries as users see them, newest first, with their process and row id
    (``number``, for paging and "retry now"); ``failing``: those that gave up or are retrying."""
    rows = store.of_account(
        conn, account_id, status=status, before_id=before_id, limit=limit, failing=failing
    )
    return [
        {
            **_shown(r),
            "number": r["id"],
            "process_id": r["process_id"],
            "created_at": r["created_at"],
        }
        for r in rows
    ]


def retry_now(conn: Connection, account_id: int, delivery_id: int, *, policy: RetryPolicy) -> None:
    """Send an undelivered delivery again at once (a failed one gets a new deadline); 404 for a
    delivered one or one of another account."""
    at = clock.now()
    deadline = at + timedelta(seconds=policy.give_up_after)
    if not store.retry_now(conn, account_id, delivery_id, at=at, deadline=deadline):
        raise NotFound(f"no undelivered webhook delivery {delivery_id} in this account")
