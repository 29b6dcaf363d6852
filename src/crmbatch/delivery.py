"""The webhook sender: takes due deliveries from the outbox, sends each signed, writes down what
the target answered. Runs beside the worker (in ``serve`` with the embedded worker, and in
``crmbatch worker``).

An attempt: look the host up again and check the address (:mod:`crmbatch.core.webhooks.targets`),
connect to that very address, POST the body with a short timeout, follow no redirect, read at
most :data:`MAX_ANSWER` bytes of the answer. A 2xx delivers; anything else (an error, a timeout, a
3xx) waits for the next attempt.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from crmbatch import __version__, metrics
from crmbatch.config import Settings
from crmbatch.core.webhooks import service as webhooks
from crmbatch.core.webhooks import targets
from crmbatch.db.engine import Database

log = logging.getLogger("crmbatch.webhooks")

#: bytes of a target's answer kept (for ``last_error``); the rest is never read
MAX_ANSWER = 1024
#: deliveries taken per round, and sent at once
BATCH = 32
CONCURRENCY = 8


def webhook_policy(settings: Settings) -> webhooks.RetryPolicy:
    return webhooks.RetryPolicy(
        base=settings.webhook_retry_base, give_up_after=settings.webhook_retry_for
    )


class Sender:
    """Sends one delivery: resolve and check the target, POST, read a little of the answer."""

    def __init__(
        self,
        *,
        allow_private: bool,
        timeout: float,
        resolve: targets.Resolver = targets.system_resolver,
    ) -> None:
        self.allow_private = allow_private
        self.resolve = resolve
        self.client = httpx.Client(
            follow_redirects=False, timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0))
        )

    def close(self) -> None:
        self.client.close()

    def send(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str | None]:
        """(HTTP status or None, what went wrong or None)."""
        try:
            target = targets.check(url, allow_private=self.allow_private, resolve=self.resolve)
        except targets.UnsafeTarget as e:
            return None, e.message
        original = httpx.URL(url)
        pinned = original.copy_with(host=target.address)
        host = original.host if original.port is None else f"{original.host}:{original.port}"
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        request = self.client.build_request(
            "POST",
            pinned,
            content=body,
            headers={**headers, "Host": host},
            extensions=extensions,
        )
        try:
            response = self.client.send(request, stream=True)
        except httpx.HTTPError as e:
            return None, f"{type(e).__name__}: {e}"[:500] or type(e).__name__
        try:
            answer = b""
            for chunk in response.iter_bytes():
                answer += chunk
                if len(answer) >= MAX_ANSWER:
                    break
        except httpx.HTTPError:
            answer = b""
        finally:
            response.close()
        if 200 <= response.status_code < 300:
            return response.status_code, None
        text = answer[:MAX_ANSWER].decode("utf-8", "replace")
        where = f" (redirect to {response.headers.get('location')!r} not followed)"
        return response.status_code, (
            f"HTTP {response.status_code}"
            + (where if response.is_redirect else "")
            + (f": {text}" if text else "")
        )


class Dispatcher:
    """A loop that sends due deliveries, BATCH at a time, CONCURRENCY at once."""

    def __init__(self, db: Database, settings: Settings, *, sender: Sender | None = None) -> None:
        self.db = db
        self.settings = settings
        self.policy = webhook_policy(settings)
        self.sender = sender or Sender(
            allow_private=settings.webhook_allow_private, timeout=settings.webhook_timeout
        )
        #: a delivery is leased (pushed out of reach) for longer than an attempt may take
        self.lease_seconds = settings.webhook_timeout * 3 + 5
        self.stop_event = threading.Event()
        self.wake_event = threading.Event()
        self.pool = ThreadPoolExecutor(CONCURRENCY, thread_name_prefix="crmbatch-webhook")

    def wake(self) -> None:
        self.wake_event.set()

    def stop(self) -> None:
        self.stop_event.set()
        self.wake_event.set()

    def run_once(self) -> int:
        """Send what is due now; how many deliveries were attempted."""
        with self.db.write(background=True) as conn:
            due = webhooks.claim_due(
                conn,
                limit=BATCH,
                lease_seconds=self.lease_seconds,
                skip_locked=not self.db.is_sqlite,
            )
        if not due:
            return 0
        outcomes = list(self.pool.map(self._attempt, due))
        with self.db.write(background=True) as conn:
            for delivery, (status_code, error) in zip(due, outcomes, strict=True):
                state = webhooks.record(
                    conn, delivery, status_code=status_code, error=error, policy=self.policy
                )
                metrics.WEBHOOK_ATTEMPTS.labels(state).inc()
                log.info(
                    "webhook.attempt",
                    extra={
                        "process_id": delivery["process_id"],
                        "delivery": delivery["uuid"],
                        "status": state,
                        "http_status": status_code,
                        "error": error,
                        "attempt": delivery["attempts"] + 1,
                    },
                )
        return len(due)

    def _attempt(self, delivery: Any) -> tuple[int | None, str | None]:
        try:
            body = bytes(delivery["body"])
            headers = {
                "Content-Type": "application/json",
                "User-Agent": f"crmbatch/{__version__}",
                webhooks.DELIVERY_HEADER: delivery["uuid"],
                webhooks.SIGNATURE_HEADER: webhooks.sign(delivery["webhook_secret"], body),
            }
            return self.sender.send(delivery["url"], body, headers)
        except Exception as e:  # never lose the delivery to a bug: it is retried
            log.exception("webhook.attempt_failed", extra={"process_id": delivery["process_id"]})
            return None, f"{type(e).__name__}: {e}"[:500]

    def run(self) -> None:
        idle = max(self.settings.poll_interval, 0.2)
        while not self.stop_event.is_set():
            try:
                sent = self.run_once()
            except Exception:
                log.exception("webhook.loop_error")
                sent = 0
            if not sent:
                self.wake_event.wait(idle)
                self.wake_event.clear()
        self.pool.shutdown(wait=True)
        self.sender.close()

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="crmbatch-webhooks", daemon=True)
        thread.start()
        return thread


def drain(db: Database, settings: Settings, *, sender: Sender | None = None) -> int:
    """Attempt every delivery due now, once (tests, CLI); how many were attempted."""
    dispatcher = Dispatcher(db, settings, sender=sender)
    try:
        total = 0
        while n := dispatcher.run_once():
            total += n
        return total
    finally:
        dispatcher.pool.shutdown()
