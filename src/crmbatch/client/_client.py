"""The blocking :class:`Client` and the asyncio :class:`AsyncClient`: thin I/O shells over
:mod:`crmbatch.client.base`, one method for one endpoint, plus the uploads that cut any iterable
into batches, send several at once and wait for their processes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from concurrent import futures
from typing import Any

import httpx
import orjson

from crmbatch.client import base
from crmbatch.client.base import OnFailure, OnProgress, Upload
from crmbatch.client.chunks import (
    MAX_RECORDS,
    Chunk,
    Oversized,
    chunks,
    events_cutter,
    objects_cutter,
)
from crmbatch.client.errors import BadRequest, NotFound, TransportError, WaitTimeout
from crmbatch.client.report import Report

JSON = {"content-type": "application/json"}


def _delete_body(ids: list[int] | None, ext_ids: list[str] | None) -> bytes:
    if (ids is None) == (ext_ids is None):
        raise ValueError("give ids or ext_ids, not both")
    key = "ids" if ids is not None else "ext_ids"
    return orjson.dumps({"identifiers": {key: ids if ids is not None else ext_ids}})


class Client:
    """A blocking client for crmbatch's Brevo objects, events and processes endpoints and the
    native ones.

    >>> with Client("http://127.0.0.1:8000", api_key) as c:
    ...     report = c.objects("vehicle").upsert(rows)

    ``retries`` applies to 429, 5xx and network errors, waiting what ``Retry-After`` asks or
    ``backoff`` seconds doubling; every batch carries an Idempotency-Key, so a retry never applies
    it twice. ``concurrency`` batches are in flight at once. ``transport`` is httpx's (for tests:
    ``httpx.MockTransport`` or a WSGI/ASGI transport).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float | httpx.Timeout | None = None,
        retries: int = 6,
        backoff: float = 0.5,
        concurrency: int = 4,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.options = base.options(
            base_url,
            api_key,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            concurrency=concurrency,
        )
        self._http = httpx.Client(
            base_url=self.options.base_url,
            headers=self.options.headers(),
            timeout=self.options.timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=concurrency + 2),
        )
        self._native: bool | None = None  # is the server crmbatch? (see speaks_native)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one request -------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        stop: threading.Event | None = None,
    ) -> httpx.Response:
        """Send one request, retried on 429, 5xx and network errors; an error answer raises
        the matching :class:`~crmbatch.client.errors.ApiError`."""
        attempt = 0
        while True:
            try:
                response = self._http.request(
                    method, path, content=content, params=params, headers=headers
                )
            except httpx.TransportError as e:
                if attempt >= self.options.retries:
                    raise TransportError(f"{method} {path}: {e!r}") from e
                pause = base.delay(attempt, None, self.options.backoff)
            else:
                if attempt >= self.options.retries or not base.should_retry(response):
                    response.extensions[base.TRIES] = attempt + 1
                    return base.check(response)
                pause = base.delay(attempt, response, self.options.backoff)
            attempt += 1
            if stop is not None and stop.wait(pause):
                raise TransportError("stopped")
            if stop is None:
                time.sleep(pause)

    def get_json(self, path: str, **params: Any) -> Any:
        return base.json_of(self.request("GET", path, params=params or None))

    # -- endpoints ---------------------------------------------------------------------------

    def objects(self, object_type: str) -> Objects:
        """The records of one custom object type."""
        return Objects(self, object_type)

    def schema(self) -> dict[str, Any]:
        """The account's schema document (``GET /v1/schema``)."""
        schema: dict[str, Any] = self.get_json("/v1/schema")
        return schema

    def put_schema(self, document: dict[str, Any]) -> dict[str, Any]:
        """Make the account's schema equal to ``document``; the schema as it now is."""
        response = self.request("PUT", "/v1/schema", content=orjson.dumps(document), headers=JSON)
        schema: dict[str, Any] = base.json_of(response)
        return schema

    def process(self, process_id: int, *, results: str = "all") -> dict[str, Any]:
        """A process in full (``results``: ``all``, ``failed`` or ``none``)."""
        process: dict[str, Any] = self.get_json(f"/v1/processes/{process_id}", results=results)
        return process

    def wait(
        self,
        process_id: int,
        *,
        timeout: float | None = None,
        results: str = "all",
        stop: threading.Event | None = None,
    ) -> dict[str, Any]:
        """Poll a process until it is completed or failed, and return it in full."""
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = base.POLL_FIRST
        while True:
            process = self._poll(process_id, results)
            if base.finished(process):
                return process
            if deadline is not None and time.monotonic() + pause > deadline:
                raise WaitTimeout(f"process {process_id} is still {process['status']}")
            if stop is not None and stop.wait(pause):
                raise TransportError("stopped")
            if stop is None:
                time.sleep(pause)
            pause = min(pause * 1.5, base.POLL_MAX)

    def speaks_native(self) -> bool:
        """Whether the server is crmbatch (it has ``/v1``); asked once. Against another server
        of Brevo's dialect, processes are followed by their status only."""
        if self._native is None:
            try:
                self.request("GET", "/v1/schema")
                self._native = True
            except NotFound:
                self._native = False
        return self._native

    def _poll(self, process_id: int, results: str) -> dict[str, Any]:
        if self.speaks_native():
            return self.process(process_id, results=results)
        return base.from_brevo_process(self.get_json(f"/v3/processes/{process_id}"))

    def contact(self, contact_id: int) -> dict[str, Any]:
        contact: dict[str, Any] = self.get_json(f"/v1/contacts/{contact_id}")
        return contact

    def events(
        self,
        events: Iterable[dict[str, Any]],
        *,
        wait: bool = True,
        timeout: float | None = None,
        resume: str | None = None,
        on_progress: OnProgress | None = None,
        on_failure: OnFailure | None = None,
        keep_failures: bool = True,
    ) -> Report:
        """Track any number of events (Brevo's shape), 200 per batch."""
        pieces = chunks(enumerate(events), events_cutter(resume=resume))
        up = Upload(
            wait=wait, on_progress=on_progress, on_failure=on_failure, keep_failures=keep_failures
        )
        return self.upload("/v3/events/batch", pieces, up, timeout=timeout)

    # -- uploads -----------------------------------------------------------------------------

    def upload(
        self,
        path: str,
        pieces: Iterable[Chunk | Oversized],
        up: Upload,
        *,
        timeout: float | None = None,
    ) -> Report:
        """Send every chunk to ``path``, ``concurrency`` at once, and (if ``up`` waits) wait for
        each process; the report of the whole upload."""
        stop = threading.Event()
        # batches are accepted in the order they were cut (a record given twice ends with its
        # later values); only the waiting for their processes overlaps
        turn = threading.Condition()
        next_up = 0

        def post(chunk: Chunk) -> httpx.Response:
            nonlocal next_up
            with turn:
                while next_up != chunk.number:
                    if stop.is_set():
                        raise TransportError("stopped")
                    turn.wait(0.1)
            try:
                return self.request(
                    "POST",
                    path,
                    content=chunk.body,
                    headers={**JSON, "idempotency-key": chunk.key},
                    params=base.DRY_RUN if up.dry_run else None,
                    stop=stop,
                )
            finally:
                with turn:
                    next_up += 1
                    turn.notify_all()

        def send(chunk: Chunk) -> None:
            up.sent(chunk)
            try:
                response = post(chunk)
            except BadRequest as e:
                up.rejected(chunk, e)
                return
            if up.dry_run:
                up.planned(chunk, response)
                return
            process_id = up.accepted(chunk, response)
            chunk.body = b""  # sent: only the positions are needed now
            if up.report.waited:
                up.completed(
                    chunk, self.wait(process_id, timeout=timeout, results="failed", stop=stop)
                )

        limit = self.options.concurrency
        inflight: set[futures.Future[None]] = set()
        with futures.ThreadPoolExecutor(limit, thread_name_prefix="crmbatch-upload") as pool:
            try:
                for piece in pieces:
                    if isinstance(piece, Oversized):
                        up.oversized(piece)
                        continue
                    if len(inflight) >= limit:
                        done, inflight = futures.wait(inflight, return_when="FIRST_COMPLETED")
                        for f in done:
                            f.result()
                    inflight.add(pool.submit(send, piece))
                for f in futures.as_completed(inflight):
                    f.result()
            except BaseException:
                stop.set()  # the other batches give up at their next pause
                for f in inflight:
                    f.cancel()
                raise
        return up.finish()


class Objects:
    """``client.objects("vehicle")``: upsert, delete and list one type's records."""

    def __init__(self, client: Client, object_type: str) -> None:
        self.client = client
        self.object_type = object_type

    def upsert(
        self,
        records: Iterable[dict[str, Any]],
        *,
        wait: bool = True,
        timeout: float | None = None,
        batch_size: int = MAX_RECORDS,
        resume: str | None = None,
        numbered: bool = False,
        on_progress: OnProgress | None = None,
        on_failure: OnFailure | None = None,
        keep_failures: bool = True,
        dry_run: bool = False,
    ) -> Report:
        """Create or update any number of records (Brevo's shape: ``identifiers``,
        ``attributes``, ``associations``), in batches of at most ``batch_size`` records and
        1 MB.

        ``wait`` waits for every process and reports each record; ``resume`` (any name of
        this upload) derives each batch's Idempotency-Key from it and the batch, so sending the
        same records again within 24 hours applies nothing twice. With ``numbered``,
        ``records`` yields ``(position, record)`` pairs and failures carry those positions.
        ``dry_run`` (a crmbatch server) has the server plan each batch against the data as it
        stands and report what it would do, writing nothing; each batch is planned on its own,
        so a record given twice in different batches is planned as if the other were not sent.
        """
        items: Iterable[tuple[int, Any]] = records if numbered else enumerate(records)  # type: ignore[assignment]
        cutter = objects_cutter(self.object_type, batch_size=batch_size, resume=resume)
        pieces = chunks(items, cutter)
        up = Upload(
            wait=wait,
            on_progress=on_progress,
            on_failure=on_failure,
            keep_failures=keep_failures,
            dry_run=dry_run,
        )
        return self.client.upload(self._path("batch/upsert"), pieces, up, timeout=timeout)

    def delete(
        self,
        *,
        ids: list[int] | None = None,
        ext_ids: list[str] | None = None,
        wait: bool = True,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Delete up to 1000 records by id or ext_id; the process (in full when waited for)."""
        response = self.client.request(
            "POST", self._path("batch/delete"), content=_delete_body(ids, ext_ids), headers=JSON
        )
        process_id = base.process_id_of(response)
        if not wait:
            return {"id": process_id, "status": "queued"}
        return self.client.wait(process_id, timeout=timeout)

    def records(self, *, limit: int = 100, page: int = 1, sort: str = "asc") -> dict[str, Any]:
        """One page of records: ``{"count": total, "records": [...]}``."""
        page_of: dict[str, Any] = self.client.get_json(
            self._path("records"), limit=limit, page_num=page, sort=sort
        )
        return page_of

    def _path(self, tail: str) -> str:
        return f"/v3/objects/{self.object_type}/{tail}"
