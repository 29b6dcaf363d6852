"""Fixtures shared by every test: a real database on each backend, accounts, schemas, a server.

Every storage test runs twice, on SQLite and on PostgreSQL. PostgreSQL comes from
``CRMBATCH_TEST_POSTGRES_URL`` (CI sets it); when that is unset, the local server at 127.0.0.1:5432
is tried; when none answers, the PostgreSQL half skips and says why. Under ``CI=true`` it never
skips: an unreachable server fails the run.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from crmbatch.config import Settings
from crmbatch.core.accounts import service as accounts
from crmbatch.core.schema import service as schemas
from crmbatch.db.engine import Database
from crmbatch.db.migrate import upgrade
from crmbatch.db.tables import metadata

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

VEHICLE_SCHEMA: dict[str, Any] = {
    "object_types": {
        "vehicle": {
            "label": "Vehicle",
            "primary_attribute": "model",
            "attributes": {
                "model": {"type": "text", "label": "Model"},
                "make": {"type": "text", "label": "Make"},
                "company_name": {"type": "text", "label": "Company Name"},
                "year": {"type": "number"},
                "vin": {"type": "text", "unique": True, "label": "VIN"},
                "color": {
                    "type": "category",
                    "options": [
                        {"key": "gray", "label": "Gray"},
                        {"key": "black", "label": "Black"},
                    ],
                },
                "features": {
                    "type": "multiple_category",
                    "options": [
                        {"key": "sunroof", "label": "Sunroof"},
                        {"key": "leather_seats", "label": "Leather seats"},
                    ],
                },
                "first_registered": {"type": "date"},
                "insured": {"type": "boolean"},
            },
            "associations": ["garage", "insurance", "contact"],
        },
        "garage": {
            "label": "Garage",
            "primary_attribute": "name",
            "attributes": {"name": {"type": "text"}},
        },
        "insurance": {
            "label": "Insurance",
            "primary_attribute": "policy",
            "attributes": {"policy": {"type": "text"}},
            "associations": ["vehicle"],
        },
        "contact": {
            "attributes": {
                "FIRSTNAME": {"type": "text"},
                "LASTNAME": {"type": "text"},
                "AGE": {"type": "number"},
            }
        },
    }
}


def _pg_admin_url() -> tuple[str | None, str]:
    url = os.environ.get("CRMBATCH_TEST_POSTGRES_URL")
    explicit = bool(url)
    url = url or DEFAULT_PG
    try:
        eng = sa.create_engine(
            url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
        )
        with eng.connect() as c:
            c.exec_driver_sql("SELECT 1")
        eng.dispose()
        return url, ""
    except Exception as e:  # pragma: no cover - depends on the machine
        why = f"PostgreSQL not reachable at {url} ({type(e).__name__})"
        if explicit or os.environ.get("CI") == "true":
            pytest.fail(f"{why}; CRMBATCH_TEST_POSTGRES_URL is set or CI=true, so this is an error")
        return None, why + "; set CRMBATCH_TEST_POSTGRES_URL to run the PostgreSQL half"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway database, migrated, dropped at the end of the run."""
    admin, why = _pg_admin_url()
    if admin is None:
        pytest.skip(why)
    name = f"crmbatch_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    eng = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(admin).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with eng.connect() as c:
            c.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
            )
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        eng.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "crmbatch.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    eng = sa.create_engine(url)
    with eng.begin() as c:
        names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        c.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    eng.dispose()
    return url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url, pool_size=4)
    yield database
    database.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, embedded_worker=False, lease_seconds=30)


def make_account(
    db: Database, name: str | None = None, schema: dict[str, Any] | None = None
) -> tuple[accounts.Account, str]:
    """An account with its API key; ``schema`` applied when given."""
    with db.write() as conn:
        account, key = accounts.create_account(conn, name or f"acct-{uuid.uuid4().hex[:8]}")
        if schema is not None:
            schemas.apply(conn, account.id, schema)
    return account, key


@pytest.fixture
def account(db: Database) -> tuple[accounts.Account, str]:
    return make_account(db, schema=VEHICLE_SCHEMA)


class LiveServer:
    """crmbatch's app served by a real uvicorn on 127.0.0.1 in a thread, with its worker."""

    def __init__(self, settings: Settings, db: Database) -> None:
        import threading

        import uvicorn

        from crmbatch.app import create_app

        self.app = create_app(settings, db)
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        import time

        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def client(self, key: str | None = None, **headers: str) -> Any:
        import httpx

        if key:
            headers["api-key"] = key
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)


@pytest.fixture
def server(db: Database, database_url: str) -> Iterator[LiveServer]:
    settings = Settings(database_url=database_url, embedded_worker=True, poll_interval=0.01)
    with LiveServer(settings, db) as live:
        yield live


@pytest.fixture
def idle_server(db: Database, database_url: str) -> Iterator[LiveServer]:
    """A server with no worker of its own: batches accepted asynchronously stay queued until a
    test applies them (``drain``), and nothing else opens transactions meanwhile. A synchronous
    write waits 1.5 s for queued batches before it gives up."""
    settings = Settings(database_url=database_url, embedded_worker=False, sync_wait=1.5)
    with LiveServer(settings, db) as live:
        yield live


@pytest.fixture
def api(server: LiveServer, account: tuple[accounts.Account, str]) -> Iterator[Any]:
    """An httpx client with the account's key, against the live server."""
    with server.client(account[1]) as client:
        yield client


def wait_process(client: Any, process_id: int, timeout: float = 20) -> dict[str, Any]:
    """Poll /v1/processes/{id} until it is completed or failed; return it in full."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        r = client.get(f"/v1/processes/{process_id}")
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        if body["status"] in ("completed", "failed"):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"process {process_id} still {body['status']} after {timeout}s")
        time.sleep(0.02)


@pytest.fixture
def api_for(server: LiveServer) -> Iterator[Any]:
    """``api_for(key)``: an httpx client with that key against the live server."""
    clients: list[Any] = []

    def make(key: str) -> Any:
        client = server.client(key)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def hook_settings(database_url: str, **overrides: Any) -> Settings:
    """A server's settings for webhook tests: receivers on 127.0.0.1 allowed, fast retries."""
    values: dict[str, Any] = dict(
        database_url=database_url,
        embedded_worker=True,
        poll_interval=0.01,
        webhook_allow_private=True,
        webhook_retry_base=0.05,
        webhook_timeout=5.0,
    )
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def hook_server(db: Database, database_url: str) -> Iterator[LiveServer]:
    """The live server with webhooks allowed to 127.0.0.1 and retried within a second."""
    with LiveServer(hook_settings(database_url), db) as live:
        yield live


@pytest.fixture
def hook_api(hook_server: LiveServer, account: tuple[accounts.Account, str]) -> Iterator[Any]:
    with hook_server.client(account[1]) as client:
        yield client
