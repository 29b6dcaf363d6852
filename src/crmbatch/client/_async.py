"""The asyncio :class:`AsyncClient`: the same methods as :class:`~crmbatch.client.Client`,
awaited, with batches sent as tasks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import Any

import httpx
import orjson

from crmbatch.client import base
from crmbatch.client._client import JSON, _delete_body
from crmbatch.client.base import OnFailure, OnProgress, Upload
from crmbatch.client.chunks import (
    MAX_RECORDS,
    Chunk,
    Cutter,
    Oversized,
    events_cutter,
    objects_cutter,
)
from crmbatch.client.errors import BadRequest, NotFound, TransportError, WaitTimeout
from crmbatch.client.report import Report


async def _pieces(
    records: Iterable[Any] | AsyncIterable[Any], cutter: Cutter
) -> AsyncIterator[Chunk | Oversized]:
    """The chunks of a plain or an async iterable, cut as they fill."""
    position = 0
    async for record in _each(records):
        piece = cutter.add(position, record)
        position += 1
        if piece is not None:
            yield piece
    last = cutter.flush()
    if last is not None:
        yield last


async def _each(records: Iterable[Any] | AsyncIterable[Any]) -> AsyncIterator[Any]:
    if isinstance(records, AsyncIterable):
        async for record in records:
            yield record
        return
    for n, record in enumerate(records, 1):
        yield record
        if n % 100 == 0:
            await asyncio.sleep(0)  # let the batches in flight be answered


class AsyncClient:
    """The asyncio twin of :class:`~crmbatch.client.Client`; same options, awaited methods."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float | httpx.Timeout | None = None,
        retries: int = 6,
        backoff: float = 0.5,
        concurrency: int = 4,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.options = base.options(
            base_url,
            api_key,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            concurrency=concurrency,
        )
        self._http = httpx.AsyncClient(
            base_url=self.options.base_url,
            headers=self.options.headers(),
            timeout=self.options.timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=concurrency + 2),
        )
        self._native: bool | None = None  # is the server crmbatch? (see speaks_native)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request, retried on 429, 5xx and network errors."""
        attempt = 0
        while True:
            try:
                response = await self._http.request(
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
            await asyncio.sleep(pause)

    async def get_json(self, path: str, **params: Any) -> Any:
        return base.json_of(await self.request("GET", path, params=params or None))

    def objects(self, object_type: str) -> AsyncObjects:
        return AsyncObjects(self, object_type)

    async def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = await self.get_json("/v1/schema")
        return schema

    async def put_schema(self, document: dict[str, Any]) -> dict[str, Any]:
        response = await self.request(
            "PUT", "/v1/schema", content=orjson.dumps(document), headers=JSON
        )
        schema: dict[str, Any] = base.json_of(response)
        return schema

    async def process(self, process_id: int, *, results: str = "all") -> dict[str, Any]:
        process: dict[str, Any] = await self.get_json(
            f"/v1/processes/{process_id}", results=results
        )
        return process

    async def wait(
        self, process_id: int, *, timeout: float | None = None, results: str = "all"
    ) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        pause = base.POLL_FIRST
        while True:
            process = await self._poll(process_id, results)
            if base.finished(process):
                return process
            if deadline is not None and loop.time() + pause > deadline:
                raise WaitTimeout(f"process {process_id} is still {process['status']}")
            await asyncio.sleep(pause)
            pause = min(pause * 1.5, base.POLL_MAX)

    async def speaks_native(self) -> bool:
        """Whether the server is crmbatch (it has ``/v1``); asked once. Against another server
        of Brevo's dialect, processes are followed by their status only."""
        if self._native is None:
            try:
                await self.request("GET", "/v1/schema")
                self._native = True
            except NotFound:
                self._native = False
        return self._native

    async def _poll(self, process_id: int, results: str) -> dict[str, Any]:
        if await self.speaks_native():
            return await self.process(process_id, results=results)
        return base.from_brevo_process(await self.get_json(f"/v3/processes/{process_id}"))

    async def contact(self, contact_id: int) -> dict[str, Any]:
        contact: dict[str, Any] = await self.get_json(f"/v1/contacts/{contact_id}")
        return contact

    async def events(
        self,
        events: Iterable[dict[str, Any]] | AsyncIterable[dict[str, Any]],
        *,
        wait: bool = True,
        timeout: float | None = None,
        resume: str | None = None,
        on_progress: OnProgress | None = None,
        on_failure: OnFailure | None = None,
        keep_failures: bool = True,
    ) -> Report:
        pieces = _pieces(events, events_cutter(resume=resume))
        up = Upload(
            wait=wait, on_progress=on_progress, on_failure=on_failure, keep_failures=keep_failures
        )
        return await self.upload("/v3/events/batch", pieces, up, timeout=timeout)

    async def upload(
        self,
        path: str,
        pieces: AsyncIterable[Chunk | Oversized],
        up: Upload,
        *,
        timeout: float | None = None,
    ) -> Report:
        """Send every chunk to ``path`` as tasks, ``concurrency`` at once."""

        # accepted in the order they were cut; only the waiting overlaps
        turn = asyncio.Condition()
        next_up = 0

        async def post(chunk: Chunk) -> httpx.Response:
            nonlocal next_up
            async with turn:
                await turn.wait_for(lambda: next_up == chunk.number)
            try:
                return await self.request(
                    "POST",
                    path,
                    content=chunk.body,
                    headers={**JSON, "idempotency-key": chunk.key},
                    params=base.DRY_RUN if up.dry_run else None,
                )
            finally:
                async with turn:
                    next_up += 1
                    turn.notify_all()

        async def send(chunk: Chunk) -> None:
            up.sent(chunk)
            try:
                response = await post(chunk)
            except BadRequest as e:
                up.rejected(chunk, e)
                return
            if up.dry_run:
                up.planned(chunk, response)
                return
            process_id = up.accepted(chunk, response)
            chunk.body = b""
            if up.report.waited:
                process = await self.wait(process_id, timeout=timeout, results="failed")
                up.completed(chunk, process)

        limit = self.options.concurrency
        inflight: set[asyncio.Future[None]] = set()
        try:
            async for piece in pieces:
                if isinstance(piece, Oversized):
                    up.oversized(piece)
                    continue
                if len(inflight) >= limit:
                    done, inflight = await asyncio.wait(
                        inflight, return_when=asyncio.FIRST_COMPLETED
                    )
                    for task in done:
                        task.result()
                inflight.add(asyncio.ensure_future(send(piece)))
            for next_done in asyncio.as_completed(inflight):
                await next_done
        except BaseException:
            for task in inflight:
                task.cancel()
            raise
        return up.finish()


class AsyncObjects:
    """``client.objects("vehicle")`` of an :class:`AsyncClient`."""

    def __init__(self, client: AsyncClient, object_type: str) -> None:
        self.client = client
        self.object_type = object_type

    async def upsert(
        self,
        records: Iterable[dict[str, Any]] | AsyncIterable[dict[str, Any]],
        *,
        wait: bool = True,
        timeout: float | None = None,
        batch_size: int = MAX_RECORDS,
        resume: str | None = None,
        on_progress: OnProgress | None = None,
        on_failure: OnFailure | None = None,
        keep_failures: bool = True,
        dry_run: bool = False,
    ) -> Report:
        """See :meth:`crmbatch.client.Objects.upsert`."""
        cutter = objects_cutter(self.object_type, batch_size=batch_size, resume=resume)
        pieces = _pieces(records, cutter)
        up = Upload(
            wait=wait,
            on_progress=on_progress,
            on_failure=on_failure,
            keep_failures=keep_failures,
            dry_run=dry_run,
        )
        return await self.client.upload(
            f"/v3/objects/{self.object_type}/batch/upsert", pieces, up, timeout=timeout
        )

    async def delete(
        self,
        *,
        ids: list[int] | None = None,
        ext_ids: list[str] | None = None,
        wait: bool = True,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        response = await self.client.request(
            "POST",
            f"/v3/objects/{self.object_type}/batch/delete",
            content=_delete_body(ids, ext_ids),
            headers=JSON,
        )
        process_id = base.process_id_of(response)
        if not wait:
            return {"id": process_id, "status": "queued"}
        return await self.client.wait(process_id, timeout=timeout)

    async def records(
        self, *, limit: int = 100, page: int = 1, sort: str = "asc"
    ) -> dict[str, Any]:
        page_of: dict[str, Any] = await self.client.get_json(
            f"/v3/objects/{self.object_type}/records", limit=limit, page_num=page, sort=sort
        )
        return page_of
