"""What the blocking and the asyncio clients share: options, the retry rule, how an answer is
read, and the bookkeeping of an upload. Nothing here does I/O."""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from crmbatch import __version__
from crmbatch.client.chunks import Chunk, Oversized
from crmbatch.client.errors import ApiError, error_for
from crmbatch.client.report import APPLIED, Failure, Progress, Report

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
#: answers worth another try: the request may succeed later, and the Idempotency-Key makes a
#: batch that did arrive count once
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
#: the longest wait between two tries, whatever Retry-After says
MAX_DELAY = 60.0
#: how often a process is polled while it is queued or applying (first, then at most)
POLL_FIRST, POLL_MAX = 0.02, 1.0

#: the query parameter that makes a batch write a dry run (a crmbatch server)
DRY_RUN = {"dry_run": "true"}

OnProgress = Callable[[Progress], None]
OnFailure = Callable[[Failure], None]


@dataclass(frozen=True)
class Options:
    base_url: str
    api_key: str
    timeout: httpx.Timeout
    #: tries after the first for 429, 5xx and network errors
    retries: int
    #: the first backoff in seconds (doubled each try, with jitter) when no Retry-After is given
    backoff: float
    #: batches sent at once by :meth:`upsert` and friends
    concurrency: int

    def headers(self) -> dict[str, str]:
        return {
            "api-key": self.api_key,
            "accept": "application/json",
            "user-agent": f"crmbatch-client/{__version__}",
        }


def options(
    base_url: str,
    api_key: str,
    *,
    timeout: float | httpx.Timeout | None,
    retries: int,
    backoff: float,
    concurrency: int,
) -> Options:
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if retries < 0:
        raise ValueError("retries must be 0 or more")
    if timeout is None:
        timeout = DEFAULT_TIMEOUT
    elif not isinstance(timeout, httpx.Timeout):
        timeout = httpx.Timeout(timeout, connect=min(5.0, timeout))
    return Options(base_url.rstrip("/"), api_key, timeout, retries, backoff, concurrency)


def retry_after(response: httpx.Response) -> float | None:
    """The wait a server asks for, in seconds: ``Retry-After`` as seconds or an HTTP date."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def delay(attempt: int, response: httpx.Response | None, backoff: float) -> float:
    """How long to wait before try ``attempt + 1``: what the server asked for, else
    exponential backoff with jitter (50 to 100% of ``backoff * 2**attempt``), capped."""
    asked = retry_after(response) if response is not None else None
    if asked is not None:
        return min(asked, MAX_DELAY)
    return min(backoff * (2**attempt), MAX_DELAY) * random.uniform(0.5, 1.0)


def should_retry(response: httpx.Response) -> bool:
    return response.status_code in RETRY_STATUSES


def check(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 400:
        raise error_for(response)
    return response


def json_of(response: httpx.Response) -> Any:
    return orjson.loads(response.content) if response.content else None


def process_id_of(response: httpx.Response) -> int:
    """The process a 202 (or a 207 of an events batch) names."""
    body = json_of(response)
    if not isinstance(body, dict) or not isinstance(body.get("processId"), int):
        raise ApiError(response.status_code, f"the answer names no processId: {body!r}")
    return int(body["processId"])


#: how many tries a response took (set by the clients' ``request``)
TRIES = "crmbatch.tries"


def replayed(response: httpx.Response) -> bool:
    """Whether an *earlier* request had sent this batch. A replay answering a retry is most
    likely this upload's own try whose answer was lost, so it counts as this upload's."""
    first_try = response.extensions.get(TRIES, 1) == 1
    return first_try and response.headers.get("idempotent-replayed", "").lower() == "true"


def refused_of(body: Any) -> list[tuple[int, str]]:
    """(index, reason) of each event an events batch refused (Brevo's ``errors`` groups the
    indices of each message under ``eventIndex``)."""
    out: list[tuple[int, str]] = []
    errors = body.get("errors") if isinstance(body, dict) else None
    for group in errors if isinstance(errors, list) else []:
        if isinstance(group, dict):
            for index in group.get("eventIndex") or []:
                out.append((int(index), str(group.get("message"))))
    return out


def finished(process: dict[str, Any]) -> bool:
    return process.get("status") in ("completed", "failed")


def from_brevo_process(body: dict[str, Any]) -> dict[str, Any]:
    """A process as ``GET /v3/processes/{id}`` of a Brevo server shows it (a status, no counts,
    no per-record results), in the native shape; ``detailed`` is false."""
    status = body.get("status")
    return {
        "id": body.get("id"),
        "status": "failed" if status == "cancelled" else status,
        "counts": {},
        "results": [],
        "error": None,
        "detailed": False,
    }


class Upload:
    """The bookkeeping of one upload, shared by the threads or tasks that send its batches:
    counts, failures and progress. Safe to call from several threads."""

    def __init__(
        self,
        *,
        wait: bool,
        on_progress: OnProgress | None = None,
        on_failure: OnFailure | None = None,
        keep_failures: bool = True,
        dry_run: bool = False,
    ) -> None:
        #: each batch is planned by the server (``?dry_run=true``), not applied
        self.dry_run = dry_run
        self.report = Report(waited=wait or dry_run, dry_run=dry_run)
        self._on_progress = on_progress
        self._on_failure = on_failure
        self._keep = keep_failures
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._replays: set[int] = set()  # numbers of the chunks an earlier request had sent
        self._processes: dict[int, int] = {}  # chunk number -> its process
        self._received: dict[int, int] = {}  # chunk number -> records the server took

    def _fail(self, failure: Failure, status: str) -> None:
        self.report.counts[status] += 1
        if self._keep:
            self.report.failures.append(failure)
        if self._on_failure is not None:
            self._on_failure(failure)

    def _progress(self) -> None:
        if self._on_progress is not None:
            r = self.report
            self._on_progress(Progress(r.counts["received"], r.applied, r.failed))

    def invalid(self, position: int, errors: list[dict[str, Any]], row: Any = None) -> None:
        """A record the caller could not send (``row``: as it was read)."""
        with self._lock:
            self._fail(Failure(position, "invalid", errors, record=row), "failed")
            self._progress()

    def oversized(self, piece: Oversized) -> None:
        message = f"the record is {piece.size} bytes; a batch may hold at most {piece.limit}"
        self.invalid(piece.position, [{"code": "record_too_large", "message": message}])

    def sent(self, chunk: Chunk) -> None:
        with self._lock:
            self.report.batches += 1

    def rejected(self, chunk: Chunk, error: ApiError) -> None:
        """The server refused the whole batch (400): none of its records was stored. An events
        batch says why for each event; otherwise every record gets the batch's reason."""
        reasons = dict(refused_of(error.body))
        default = [{"code": error.code or "rejected", "message": error.message}]
        with self._lock:
            for index, position in enumerate(chunk.positions):
                reason = reasons.get(index)
                errors = [{"code": "invalid", "message": reason}] if reason else default
                failure = Failure(position, "rejected", errors, record=chunk.record(index))
                self._fail(failure, "failed")
            self._progress()

    def accepted(self, chunk: Chunk, response: httpx.Response) -> int:
        """The batch is a process (202, or an events batch's 207 that refused some events);
        the process id."""
        process_id = process_id_of(response)
        replay = replayed(response)
        refused = refused_of(json_of(response)) if response.status_code == 207 else []
        with self._lock:
            r = self.report
            self._processes[chunk.number] = process_id
            self._received[chunk.number] = len(chunk) - len(refused)
            r.counts["received"] += len(chunk) - len(refused)
            r.accepted_after = time.monotonic() - self._started
            if replay:
                r.replayed_batches += 1
                self._replays.add(chunk.number)
            for index, reason in refused:
                errors = [{"code": "invalid", "message": reason}]
                failure = Failure(
                    chunk.positions[index], "rejected", errors, record=chunk.record(index)
                )
                self._fail(failure, "failed")
            self._progress()
        return process_id

    def planned(self, chunk: Chunk, response: httpx.Response) -> None:
        """A dry run's answer: what the server would do with each record of the batch."""
        document = json_of(response) or {}
        with self._lock:
            self.report.counts["received"] += len(chunk)
        self.completed(
            chunk,
            {
                "status": "completed",
                "counts": document.get("counts") or {},
                "results": document.get("results") or [],
            },
        )

    def completed(self, chunk: Chunk, process: dict[str, Any]) -> None:
        """The batch's process has run; ``process`` shows it with its failed results."""
        with self._lock:
            if process.get("detailed") is False and process.get("status") == "completed":
                self.report.unreported += self._received.get(chunk.number, len(chunk))
            counts = process.get("counts") or {}
            applied = [(s, int(counts.get(s) or 0)) for s in APPLIED]
            if chunk.number in self._replays:  # applied by the earlier request, not now
                self.report.replayed += sum(n for _, n in applied)
            else:
                for status, n in applied:
                    self.report.counts[status] += n
            if process.get("status") == "failed":
                errors = [{"code": "process_failed", "message": str(process.get("error"))}]
                for position in chunk.positions:
                    self._fail(Failure(position, "failed", errors), "failed")
            for result in process.get("results") or []:
                status = result.get("status")
                if status not in ("failed", "skipped"):
                    continue
                failure = Failure(
                    chunk.positions[result["index"]],
                    status,
                    list(result.get("errors") or []),
                    id=result.get("id"),
                    ext_id=result.get("ext_id"),
                    record=chunk.record(result["index"]),
                )
                self._fail(failure, status)
            chunk.parts = []  # reported: the records are not needed any more
            self._progress()

    def finish(self) -> Report:
        self.report.elapsed = time.monotonic() - self._started
        self.report.processes = [self._processes[n] for n in sorted(self._processes)]
        self.report.failures.sort(key=lambda f: f.index)
        return self.report
