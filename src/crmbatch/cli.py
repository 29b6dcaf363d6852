"""The ``crmbatch`` command line (native.md). Every command reads ``CRMBATCH_DATABASE_URL``;
errors go to stderr with a non-zero exit status."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console

from crmbatch.config import ConfigError, Settings

app = typer.Typer(
    help="crmbatch: a self-hosted batch-upsert CRM data hub.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
accounts_app = typer.Typer(help="Accounts (tenants).", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
schema_app = typer.Typer(help="Schema documents.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Webhook signing.", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")
app.add_typer(keys_app, name="keys")
app.add_typer(schema_app, name="schema")
app.add_typer(webhooks_app, name="webhooks")

out = Console()
err = Console(stderr=True)


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None


def _database(settings: Settings) -> Any:
    from crmbatch.db.engine import Database
    from crmbatch.db.migrate import upgrade

    upgrade(settings.database_url)
    return Database(settings.database_url, pool_size=2)


def _run(fn: Any) -> Any:
    """Run ``fn(db)`` in one write transaction; core errors become a clean exit 1."""
    from crmbatch.core.errors import CrmError

    settings = _settings()
    db = _database(settings)
    try:
        with db.write() as conn:
            return fn(conn)
    except CrmError as e:
        err.print(f"[red]error:[/red] {e.message}")
        raise typer.Exit(1) from None
    finally:
        db.dispose()


@app.command()
def migrate() -> None:
    """Apply database migrations and exit."""
    from crmbatch.db.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    out.print(f"database at {_safe_url(settings.database_url)} is up to date")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="HTTP server processes")] = 1,
) -> None:
    """Migrate if needed and serve HTTP; with SQLite the worker runs too, as a child process
    (on its own core) that this command supervises and stops with it."""
    import uvicorn

    from crmbatch import logs
    from crmbatch.db.migrate import upgrade

    settings = _settings()
    logs.setup(settings.log_level)
    upgrade(settings.database_url)
    child = settings.embedded_worker and settings.worker_process
    if (workers > 1 or child) and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # every process (servers and their worker children) writes its metrics here; /metrics
        # sums them (see metrics.py)
        import tempfile

        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="crmbatch-metrics-")
    where = "external: run crmbatch worker"
    if settings.embedded_worker:
        where = "a supervised child process" if child else "in-process"
    err.print(
        f"crmbatch serving on http://{host}:{port} (database {_safe_url(settings.database_url)}, "
        f"worker {where})"
    )
    uvicorn.run(
        "crmbatch.app:serve_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level if settings.log_level != "debug" else "debug",
        access_log=False,
    )


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="worker threads in this process")] = 1,
    metrics_port: Annotated[
        int | None,
        typer.Option(envvar="CRMBATCH_WORKER_METRICS_PORT", help="serve /metrics on this port"),
    ] = None,
    wake_fd: Annotated[int | None, typer.Option(hidden=True)] = None,
    parent_pid: Annotated[int | None, typer.Option(hidden=True)] = None,
) -> None:
    """A standalone worker process: claims and applies processes until SIGTERM or Ctrl-C."""
    import time

    from crmbatch import children, logs
    from crmbatch.background import Background
    from crmbatch.runtime import tune_gc

    settings = _settings()
    logs.setup(settings.log_level)
    db = _database(settings)
    background = Background(db, settings, workers=max(1, concurrency))

    def stop(*_: Any) -> None:
        background.stop()  # each worker finishes the batch it is applying, then stops

    # before the first claim: a SIGTERM must never find a batch half-applied and no handler
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop if parent_pid is None else signal.SIG_IGN)
    background.start()
    tune_gc()
    if metrics_port is not None:  # apply rate and latency of this worker, for Prometheus
        from prometheus_client import start_http_server

        from crmbatch import metrics

        start_http_server(metrics_port, registry=metrics.REGISTRY)
    if wake_fd is not None:  # started by crmbatch serve: woken through a pipe, never orphaned
        children.listen_for_wakes(wake_fd, background.wake)
    if parent_pid is not None:
        children.watch_parent(parent_pid, stop)
    else:
        err.print(f"crmbatch worker running ({max(1, concurrency)} thread(s)); Ctrl-C to stop")
    while background.alive():
        time.sleep(0.5)
    background.join()
    db.dispose()


@accounts_app.command("create")
def accounts_create(
    name: str,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON line")] = False,
) -> None:
    """Create an account and print its first API key (shown once)."""
    from crmbatch.core.accounts import service

    account, key = _run(lambda conn: service.create_account(conn, name))
    if as_json:
        print(json.dumps({"account_id": account.id, "name": account.name, "api_key": key}))
    else:
        out.print(f"account [bold]{account.name}[/bold] (id {account.id}) created")
        out.print(f"API key (shown once): {key}")


@accounts_app.command("list")
def accounts_list() -> None:
    """List accounts."""
    from crmbatch.core.accounts import service

    for a in _run(service.list_accounts):
        out.print(f"{a.id}\t{a.name}")


@keys_app.command("create")
def keys_create(
    account: Annotated[str, typer.Option("--account", help="account name")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Issue another API key for an account (shown once)."""
    from crmbatch.core.accounts import service

    def create(conn: Any) -> tuple[Any, str]:
        a = service.get_account(conn, account)
        return a, service.create_key(conn, a.id)

    a, key = _run(create)
    if as_json:
        print(json.dumps({"account_id": a.id, "name": a.name, "api_key": key}))
    else:
        out.print(f"API key for {a.name} (shown once): {key}")


@keys_app.command("list")
def keys_list(account: Annotated[str, typer.Option("--account")]) -> None:
    """List an account's keys by prefix (the keys themselves are not stored)."""
    from crmbatch.core.accounts import service

    for k in _run(lambda conn: service.list_keys(conn, service.get_account(conn, account).id)):
        state = f"revoked {k['revoked_at']}" if k["revoked_at"] else "active"
        out.print(f"{k['prefix']}\tcreated {k['created_at']}\t{state}")


@keys_app.command("revoke")
def keys_revoke(key: str) -> None:
    """Revoke KEY: the whole key, or its start as keys list shows it (any start only one
    active key has). It gets 401 at once."""
    from crmbatch.core.accounts import service

    shown = _run(lambda conn: service.revoke_key(conn, key))
    out.print(f"revoked {shown}")


@schema_app.command("apply")
def schema_apply(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    account: Annotated[str, typer.Option("--account")],
    allow_destructive: Annotated[
        bool, typer.Option(help="allow removing types or attributes that hold data")
    ] = False,
) -> None:
    """Make the account's schema equal to FILE (YAML or JSON); print what changed."""
    from crmbatch.core.accounts import service
    from crmbatch.core.schema import service as schemas

    try:
        document = yaml.safe_load(file.read_text())
    except yaml.YAMLError as e:
        err.print(f"[red]error:[/red] {file} is not valid YAML or JSON: {e}")
        raise typer.Exit(1) from None

    def apply(conn: Any) -> list[str]:
        a = service.get_account(conn, account)
        return schemas.apply(conn, a.id, document, allow_destructive=allow_destructive)

    changes = _run(apply)
    for line in changes:
        out.print(line, highlight=False)
    out.print(f"{len(changes)} change(s)" if changes else "no changes: the schema already matches")


@schema_app.command("export")
def schema_export(account: Annotated[str, typer.Option("--account")]) -> None:
    """Print the account's schema document as JSON."""
    from crmbatch.core.accounts import service
    from crmbatch.core.schema import service as schemas

    doc = _run(lambda conn: schemas.export(conn, service.get_account(conn, account).id))
    print(json.dumps(doc, indent=2))


@webhooks_app.command("secret")
def webhooks_secret(
    account: Annotated[str, typer.Option("--account")],
    rotate: Annotated[bool, typer.Option(help="replace the secret with a new one")] = False,
) -> None:
    """Print the account's webhook signing secret (last word of the last line)."""
    from crmbatch.core.accounts import service

    secret = _run(lambda conn: service.webhook_secret(conn, account, rotate=rotate))
    print(f"{'new ' if rotate else ''}webhook secret for {account}: {secret}")


def _renames(pairs: list[str]) -> dict[str, str]:
    """``--map COLUMN=ATTRIBUTE`` options as a mapping."""
    renames: dict[str, str] = {}
    for pair in pairs:
        column, sep, key = pair.partition("=")
        if not sep or not column.strip() or not key.strip():
            err.print(f"[red]error:[/red] --map takes COLUMN=ATTRIBUTE, got {pair!r}")
            raise typer.Exit(2)
        renames[column.strip()] = key.strip()
    return renames


@app.command()
def sync(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="a CSV or JSONL file")],
    object_type: Annotated[str, typer.Option("--object-type", help="the records' object type")],
    api_key: Annotated[str, typer.Option(envvar="CRMBATCH_API_KEY", help="the account's key")],
    base_url: Annotated[
        str, typer.Option(envvar="CRMBATCH_BASE_URL", help="the server (any Brevo objects API)")
    ] = "http://127.0.0.1:8000",
    ext_id_column: Annotated[
        str | None, typer.Option(help="the column holding each record's ext_id (create or update)")
    ] = None,
    id_column: Annotated[
        str | None, typer.Option(help="the column holding each record's id (update only)")
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="COLUMN=ATTRIBUTE: the column fills that attribute; repeatable"),
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=1000, help="records per batch")] = 1000,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="batches in flight")] = 4,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="report what the sync would do and write nothing: a crmbatch server plans each "
            "batch (unknown ids, unique conflicts); another server's rows are checked locally",
        ),
    ] = False,
    format_: Annotated[
        str | None, typer.Option("--format", help="csv or jsonl (default: from the file's name)")
    ] = None,
    delimiter: Annotated[str, typer.Option(help="the CSV delimiter")] = ",",
    failures: Annotated[
        Path | None, typer.Option(help="where rows not applied go (default: FILE.failures.jsonl)")
    ] = None,
    retries: Annotated[
        int, typer.Option(min=0, help="tries after the first, on 429/5xx/network")
    ] = 6,
    schema: Annotated[
        Path | None,
        typer.Option(
            exists=True, dir_okay=False, help="the schema document, for a server without one"
        ),
    ] = None,
) -> None:
    """Push a CSV or JSONL file of any size into one object type, with progress and a report.

    CSV: the header names the columns; each column fills the attribute of its name (or the one
    --map names), converted from text to the attribute's type; an empty cell leaves a value as it
    is. JSONL: one record per line, Brevo's shape or plain attributes. Rows that do not fit the
    schema are not sent; they go, with every record the server did not apply, to the failures
    file. Exit status 0 only when every row was applied; run the same command again after an
    interruption and the batches already applied are skipped.
    """
    from crmbatch.client import filesync

    renames = _renames(map_ or [])
    if format_ not in (None, "csv", "jsonl"):
        err.print(f"[red]error:[/red] --format is csv or jsonl, not {format_!r}")
        raise typer.Exit(2)
    options = filesync.SyncOptions(
        file=file,
        object_type=object_type,
        base_url=base_url,
        api_key=api_key,
        ext_id_column=ext_id_column,
        id_column=id_column,
        renames=renames,
        batch_size=batch_size,
        concurrency=concurrency,
        dry_run=dry_run,
        format=format_,
        delimiter=delimiter,
        failures=failures,
        retries=retries,
        schema=schema,
    )
    raise typer.Exit(filesync.run(options))


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
