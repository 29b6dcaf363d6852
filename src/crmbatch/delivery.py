"""The webhook sender: takes due deliveries from the outbox, sends each signed, writes down what
the target answered. Runs beside the worker (in ``serve`` with the embedded worker, and in
``crmbatch worker``).

An attempt: look the host up again and check the address (:mod:`crmbatch.core.webhooks.targets`),
connect to that very address, POST the body, follow no redirect; a 2xx delivers (its body is not
read), and of any other answer at most :data:`MAX_ANSWER` bytes are kept. The whole attempt has
one deadline (``CRMBATCH_WEBHOOK_TIMEOUT``); anything else (an error, a timeout, a 3xx) waits for
the next attempt.
"""

from __future__ import annotations

import asyncio
import logging
import threading
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
#: deliveries sent at once
CONCURRENCY = 8


def webhook_policy(settings: Settings) -> webhooks.RetryPolicy:
    return webhooks.RetryPolicy(
        base=settings.webhook_retry_base, give_up_after=settings.webhook_retry_for
    )


class Sender:
    """Sends one delivery: resolve and check the target, POST, read a little of the answer,
    all within one deadline (``timeout``: a receiver that trickles its answer byte by byte
    cannot hold an attempt longer)."""

    def __init__(
        self,
        *,
        allow_private: bool,
        timeout: float,
        resolve: targets.Resolver = targets.system_resolver,
    ) -> None:
        self.allow_private = allow_private
        self.resolve = resolve
        self.timeout = timeout
        self.client = httpx.AsyncClient(
            follow_redirects=False, timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0))
        )

    async def close(self) -> None:
        await self.client.aclose()

    async def send(
        self, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int | None, str | None]:
        """(HTTP status or None, what went wrong or None)."""
        try:
            async with asyncio.timeout(self.timeout):
                return await self._send(url, body, headers)
        except TimeoutError:
            return None, f"no complete answer within {self.timeout:g} s"

    async def _send(
        self, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int | None, str | None]:
        try:  # the lookup blocks: off the event loop
            target = await asyncio.to_thread(
                targets.check, url, allow_private=self.allow_private, resolve=self.resolve
            )
        except targets.UnsafeTarget as e:
            return None, e.message
        original = httpx.URL(url)
        pinned = original.copy_with(host=target.address)
        host = original.host if original.port is None else f"{original.host}:{original.port}"
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        request = self.client.build_request(
            "POST", pinned, content=body, headers={**headers, "Host": host}, extensions=extensions
        )
        try:
            response = await self.client.send(request, stream=True)
        except httpx.HTTPError as e:
            return None, f"{type(e).__name__}: {e}"[:500] or type(e).__name__
        try:
            if 200 <= response.status_code < 300:
                return response.status_code, None  # delivered: its body is not read
            answer = await _head_of(response)
        finally:
            await response.aclose()
        text = answer.decode("utf-8", "replace")
        where = f" (redirect to {response.headers.get('location')!r} not followed)"
        return response.status_code, (
            f"HTTP {response.status_code}"
            + (where if response.is_redirect else "")
            + (f": {text}" if text else "")
        )


async def _head_of(response: httpx.Response) -> bytes:
    """At most :data:`MAX_ANSWER` bytes of an answer's body (the rest is never read)."""
    answer = b""
    try:
        async for chunk in response.aiter_bytes():
            answer += chunk
            if len(answer) >= MAX_ANSWER:
                break
    except httpx.HTTPError:
        pass
    return answer[:MAX_ANSWER]


class Dispatcher:
    """Sends due deliveries, up to CONCURRENCY at once, each on its own: an attempt is claimed
    when a slot frees and written down when it ends, so one slow target never holds up another
    (there is no round that waits for its slowest member)."""

    def __init__(self, db: Database, settings: Settings, *, sender: Sender | None = None) -> None:
        self.db = db
        self.settings = settings
        self.policy = webhook_policy(settings)
        self._sender = sender
        #: a delivery is leased (pushed out of reach) for longer than an attempt may take
        self.lease_seconds = settings.webhook_timeout * 2 + 5
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    def wake(self) -> None:
        loop, event = self._loop, self._wake
        if loop is not None and event is not None:
            loop.call_soon_threadsafe(event.set)

    def stop(self) -> None:
        self._stop.set()
        self.wake()

    def run(self) -> None:
        asyncio.run(self._main())

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="crmbatch-webhooks", daemon=True)
        thread.start()
        return thread

    def _sender_for_loop(self) -> Sender:
        return self._sender or Sender(
            allow_private=self.settings.webhook_allow_private,
            timeout=self.settings.webhook_timeout,
        )

    async def _main(self, *, once: bool = False) -> int:
        """Send until stopped (or, ``once``, until nothing is due); how many were attempted."""
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        sender = self._sender_for_loop()
        idle = max(self.settings.poll_interval, 0.2)
        running: set[asyncio.Task[None]] = set()
        attempted = 0
        try:
            while not self._stop.is_set():
                free = CONCURRENCY - len(running)
                due = await self._claim(free) if free > 0 else []
                for delivery in due:
                    task = asyncio.create_task(self._attempt(sender, delivery))
                    running.add(task)
                    task.add_done_callback(running.discard)
                attempted += len(due)
                if once and not due and not running:
                    break
                if not due or free == len(due):  # nothing more due now, or no slot left
                    self._wake.clear()
                    waiters = [asyncio.create_task(self._wake.wait()), *running]
                    await asyncio.wait(waiters, timeout=idle, return_when=asyncio.FIRST_COMPLETED)
                    waiters[0].cancel()
            await asyncio.gather(*running, return_exceptions=True)
        finally:
            if self._sender is None:
                await sender.close()
        return attempted

    async def _claim(self, limit: int) -> list[Any]:
        def claim() -> list[Any]:
            with self.db.write(background=True) as conn:
                return list(
                    webhooks.claim_due(
                        conn,
                        limit=limit,
                        lease_seconds=self.lease_seconds,
                        skip_locked=not self.db.is_sqlite,
                    )
                )

        try:
            return await asyncio.to_thread(claim)
        except Exception:
            log.exception("webhook.claim_failed")
            return []

    async def _attempt(self, sender: Sender, delivery: Any) -> None:
        try:
            body = bytes(delivery["body"])
            headers = {
                "Content-Type": "application/json",
                "User-Agent": f"crmbatch/{__version__}",
                webhooks.DELIVERY_HEADER: delivery["uuid"],
                webhooks.SIGNATURE_HEADER: webhooks.sign(delivery["webhook_secret"], body),
            }
            status_code, error = await sender.send(delivery["url"], body, headers)
        except Exception as e:  # never lose the delivery to a bug: it is retried
            log.exception("webhook.attempt_failed", extra={"process_id": delivery["process_id"]})
            status_code, error = None, f"{type(e).__name__}: {e}"[:500]
        try:
            await asyncio.to_thread(self._record, delivery, status_code, error)
        except Exception:  # the lease runs out and the delivery is tried again
            log.exception("webhook.record_failed", extra={"process_id": delivery["process_id"]})

    def _record(self, delivery: Any, status_code: int | None, error: str | None) -> None:
        with self.db.write(background=True) as conn:
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


def drain(db: Database, settings: Settings, *, sender: Sender | None = None) -> int:
    """Attempt every delivery due now, once (tests, CLI); how many were attempted."""
    return asyncio.run(Dispatcher(db, settings, sender=sender)._main(once=True))
