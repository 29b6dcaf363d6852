"""``crmbatch sync``: push a CSV or JSONL file of any size into one object type through the
Brevo batch endpoint, with a progress bar, a summary and a file of the rows that failed.

The file is read as a stream: a row is converted, checked against the schema, cut into a batch
and sent while the next rows are read; only the batches in flight are in memory. Each batch's
Idempotency-Key is derived from the object type, the batch's number and its bytes, so running
the same file again skips the batches an earlier run got applied (within the server's 24 hours).
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import yaml
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from crmbatch.client import Client
from crmbatch.client import report as reports
from crmbatch.client.base import Upload
from crmbatch.client.chunks import Chunk, Oversized, objects_cutter
from crmbatch.client.errors import CrmbatchError, NotFound
from crmbatch.client.files import (
    Counting,
    FileProblem,
    Mapping,
    Row,
    format_of,
    object_type_of,
    read_csv,
    read_jsonl,
)

#: exit statuses: every record applied; some not (or the sync stopped); interrupted
EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130


@dataclass
class SyncOptions:
    file: Path
    object_type: str
    base_url: str
    api_key: str
    ext_id_column: str | None = None
    id_column: str | None = None
    renames: dict[str, str] = field(default_factory=dict)
    batch_size: int = 1000
    concurrency: int = 4
    dry_run: bool = False
    format: str | None = None
    delimiter: str = ","
    failures: Path | None = None
    retries: int = 6
    backoff: float = 0.5
    #: the schema document, for a server that does not serve one (not crmbatch)
    schema: Path | None = None

    @property
    def failures_path(self) -> Path:
        return self.failures or self.file.with_name(f"{self.file.stem}.failures.jsonl")


class Failures:
    """The failure file: one JSON line per row not applied, written as failures arrive; removed
    at the end when there were none (so an old one never misleads).

    Each line names the row (``line``, ``status``, ``errors``, and the ``id``/``ext_id`` the
    server reported) and carries it: the record as it was sent (``identifiers``,
    ``attributes``), or, for a row that could not be sent, the row as it was read (``row``). Fix
    the lines and feed the file back: ``crmbatch sync FILE.failures.jsonl`` with the same
    options reads them as records.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._out = path.open("wb")

    def write(self, failure: reports.Failure) -> None:
        entry: dict[str, Any] = {"line": failure.index, "status": failure.status}
        for name in ("id", "ext_id"):
            if getattr(failure, name) is not None:
                entry[name] = getattr(failure, name)
        entry["errors"] = failure.errors
        record = failure.record
        if failure.status == "invalid":
            entry["row"] = record
        elif isinstance(record, dict):
            entry.update(record)
        self._out.write(orjson.dumps(entry) + b"\n")
        self.count += 1

    def close(self) -> None:
        self._out.close()
        if self.count == 0:
            self.path.unlink(missing_ok=True)


def rows_of(
    options: SyncOptions, stream: io.TextIOBase, mapping: Mapping
) -> Iterator[tuple[Row, Any, Any]]:
    """Each row with its record, or with the list of problems that keep it from being sent,
    and the row as it was read (a CSV row as ``{column: cell}``, empty cells left out). A CSV
    header that names no attribute raises :class:`FileProblem` here, before any row."""
    if format_of(options.file, options.format) == "jsonl":
        return _checked(read_jsonl(stream), mapping.json_record, lambda data: data)
    header, rows = read_csv(stream, delimiter=options.delimiter)
    attributes = mapping.check_header(header)
    return _checked(
        rows,
        lambda cells: mapping.csv_record(header, attributes, cells),
        lambda cells: {c: v for c, v in zip(header, cells or (), strict=False) if v != ""},
    )


def _checked(rows: Iterator[Row], convert: Any, source: Any) -> Iterator[tuple[Row, Any, Any]]:
    for row in rows:
        if row.problem is not None:
            yield row, [row.problem], source(row.data) if row.data is not None else None
            continue
        record, problems = convert(row.data)
        yield row, record if record is not None else problems, source(row.data)


class Screen:
    """The progress bar: bytes of the file read, and records sent, applied and failed."""

    def __init__(self, console: Console, total: int) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.task = self.progress.add_task("sync", total=max(total, 1), counts="")
        self.read = 0
        self.invalid = 0
        self.last = reports.Progress(0, 0, 0)
        self.started = time.monotonic()

    def show(self) -> None:
        p = self.last
        rate = p.sent / max(time.monotonic() - self.started, 1e-6)
        counts = (
            f"read {self.read:,} · sent {p.sent:,} · applied {p.applied:,} · "
            f"[red]failed {p.failed:,}[/red] · {rate:,.0f}/s"
        )
        self.progress.update(self.task, counts=counts)

    def on_progress(self, progress: reports.Progress) -> None:
        self.last = progress
        self.show()


def _summary(console: Console, options: SyncOptions, report: reports.Report, read: int) -> None:
    title = f"crmbatch sync {options.file.name} → {options.object_type}"
    table = Table(title=title + (" (dry run)" if report.dry_run else ""))
    table.add_column("", style="bold")
    table.add_column("records", justify="right")
    c = report.counts
    lines = [
        ("rows read", read),
        ("sent", c["received"]),
        ("  already applied by an earlier run", report.replayed),
        ("created", c["created"]),
        ("updated", c["updated"]),
        ("unchanged", c["unchanged"]),
        ("failed", c["failed"]),
        ("skipped", c["skipped"]),
    ]
    if report.unreported:
        lines.append(("applied (the server does not itemise)", report.unreported))
    for name, value in lines:
        table.add_row(name, f"{value:,}")
    table.add_row("batches", f"{report.batches:,}")
    table.add_row("time", f"{report.elapsed:.1f} s")
    table.add_row("rate", f"{read / report.elapsed if report.elapsed else 0:,.0f} rows/s")
    console.print(table)


def run(options: SyncOptions, console: Console | None = None) -> int:
    """Sync the file; the exit status (0 only when every row was applied)."""
    console = console or Console(stderr=True)
    try:
        return _run(options, console)
    except FileProblem as e:
        console.print(f"[red]error:[/red] {e}")
        return EXIT_FAILED


def _run(options: SyncOptions, console: Console) -> int:
    size = options.file.stat().st_size
    with Client(
        options.base_url,
        options.api_key,
        concurrency=options.concurrency,
        retries=options.retries,
        backoff=options.backoff,
    ) as client:
        try:
            document = _schema(options, client)
        except NotFound:
            console.print(
                "[red]error:[/red] the server serves no schema at /v1/schema (it is not"
                " crmbatch?): give the schema document with --schema FILE"
            )
            return EXIT_FAILED
        except (CrmbatchError, OSError, yaml.YAMLError) as e:
            console.print(f"[red]error:[/red] could not read the schema: {e}")
            return EXIT_FAILED
        mapping = Mapping(
            object_type_of(document, options.object_type),
            renames=options.renames,
            ext_id_column=options.ext_id_column,
            id_column=options.id_column,
        )
        counting = Counting(options.file.open("rb"))
        stream = io.TextIOWrapper(io.BufferedReader(counting), encoding="utf-8-sig", newline="")
        with contextlib.closing(stream):
            rows = rows_of(options, stream, mapping)
            failures = Failures(options.failures_path)
            screen = Screen(console, size)
            with contextlib.closing(failures), screen.progress:
                if options.dry_run and not client.speaks_native():
                    return _dry_run(options, console, rows, failures, screen, counting)
                return _push(options, console, client, rows, failures, screen, counting)


def _schema(options: SyncOptions, client: Client) -> dict[str, Any]:
    """The schema document: the file given, else the server's."""
    if options.schema is None:
        return client.schema()
    document = yaml.safe_load(options.schema.read_text())  # JSON is YAML too
    if not isinstance(document, dict):
        raise FileProblem(f"{options.schema} is not a schema document")
    return document


def _dry_run(
    options: SyncOptions,
    console: Console,
    rows: Iterator[tuple[Row, Any, Any]],
    failures: Failures,
    screen: Screen,
    counting: Counting,
) -> int:
    read = bad = 0
    for row, outcome, source in rows:
        read += 1
        if isinstance(outcome, list):
            bad += 1
            failures.write(reports.Failure(row.line, "invalid", outcome, record=source))
        if read % 1000 == 0:
            screen.read = read
            screen.progress.update(screen.task, completed=counting.count)
    screen.progress.update(screen.task, completed=counting.count)
    console.print(
        f"dry run: {read:,} rows read, {read - bad:,} valid, {bad:,} invalid; nothing was sent"
    )
    if bad:
        console.print(f"the invalid rows are in {failures.path}")
        return EXIT_FAILED
    return EXIT_OK


def _planned(console: Console, failures: Failures, report: reports.Report) -> int:
    """The end of a dry run checked by the server: what it would do, and the rows it would
    refuse, by line."""
    console.print("dry run: the server planned every batch against its data; nothing was written")
    if failures.count:
        console.print(f"[red]{failures.count:,} row(s) would fail[/red]: see {failures.path}")
        return EXIT_FAILED
    return EXIT_OK


def _push(
    options: SyncOptions,
    console: Console,
    client: Client,
    rows: Iterator[tuple[Row, Any, Any]],
    failures: Failures,
    screen: Screen,
    counting: Counting,
) -> int:
    def on_failure(f: reports.Failure) -> None:
        failures.write(f)

    up = Upload(
        wait=True,
        on_progress=screen.on_progress,
        on_failure=on_failure,
        keep_failures=False,
        dry_run=options.dry_run,
    )
    cutter = objects_cutter(
        options.object_type, batch_size=options.batch_size, resume=f"sync:{options.file.name}"
    )
    read = 0

    def pieces() -> Iterator[Chunk | Oversized]:
        nonlocal read
        for row, outcome, source in rows:
            read += 1
            if isinstance(outcome, list):
                up.invalid(row.line, outcome, source)
            else:
                piece = cutter.add(row.line, outcome)
                if piece is not None:
                    yield piece
            if read % 1000 == 0:
                screen.read = read
                screen.progress.update(screen.task, completed=counting.count)
        last = cutter.flush()
        if last is not None:
            yield last
        screen.read = read
        screen.progress.update(screen.task, completed=counting.count)

    path = f"/v3/objects/{options.object_type}/batch/upsert"
    hint = "run the same command again to resume: the batches already applied are skipped"
    try:
        report = client.upload(path, pieces(), up)
    except KeyboardInterrupt:
        screen.progress.stop()
        console.print(f"[yellow]interrupted[/yellow] after {read:,} rows; {hint}")
        return EXIT_INTERRUPTED
    except CrmbatchError as e:
        screen.progress.stop()
        console.print(f"[red]stopped:[/red] {e}\n{read:,} rows read; {hint}")
        return EXIT_FAILED
    screen.show()
    screen.progress.stop()
    _summary(console, options, report, read)
    if report.dry_run:
        return _planned(console, failures, report)
    if failures.count:
        console.print(f"[red]{failures.count:,} row(s) not applied[/red]: see {failures.path}")
        return EXIT_FAILED
    if report.replayed == report.applied and read:
        console.print("nothing changed: an earlier run already applied every row of this file")
    elif report.counts["created"] + report.counts["updated"] == 0:
        console.print("nothing changed: every record already had these values")
    else:
        console.print(f"[green]all {report.applied:,} records applied[/green]")
    return EXIT_OK
