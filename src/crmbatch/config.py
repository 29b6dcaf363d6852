"""Settings, read once from ``CRMBATCH_*`` environment variables at the edge (CLI, app factory).

Core code never reads the environment; it takes a :class:`Settings` or plain arguments.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///./data/crmbatch.db"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigError(ValueError):
    """A setting has a value crmbatch cannot use; the message names the variable."""


def _bool(env: Mapping[str, str], key: str, default: bool) -> bool:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    low = raw.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ConfigError(f"{key}={raw!r} is not a boolean (use true or false)")


def _float(env: Mapping[str, str], key: str, default: float) -> float:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{key}={raw!r} is not a number") from None


def _rate_limit(env: Mapping[str, str]) -> str | None:
    from crmbatch.ratelimit import parse

    spec = (env.get("CRMBATCH_RATE_LIMIT") or "").strip()
    if not spec or spec.lower() in ("off", "0", "none"):
        return None
    try:
        parse(spec)
    except ValueError as e:
        raise ConfigError(f"CRMBATCH_RATE_LIMIT={e}") from None
    return spec


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    embedded_worker: bool = True
    webhook_allow_private: bool = False
    log_level: str = "info"
    metrics_enabled: bool = True
    #: seconds a worker owns a claimed process before another worker may take it over
    lease_seconds: float = 30.0
    #: how often an idle worker looks for work (seconds)
    poll_interval: float = 0.05
    #: fault injection for the crash tests: sleep this long inside the apply transaction
    debug_apply_delay: float = 0.0
    #: webhook retries: the first waits about this long (seconds), each next one twice as long
    webhook_retry_base: float = 10.0
    #: webhook retries stop this long (seconds) after the process completed
    webhook_retry_for: float = 24 * 3600.0
    #: requests per API key, e.g. ``100/10s`` (None: no limit)
    rate_limit: str | None = None
    #: seconds an attempt may take, connection included
    webhook_timeout: float = 10.0
    #: seconds a synchronous write (HubSpot's) waits for earlier batches of its object type
    #: before it answers 503 with nothing written
    sync_wait: float = 30.0
    #: the embedded worker runs as a child process that ``serve`` supervises (its own core),
    #: rather than as a thread of the server
    worker_process: bool = False

    def as_env(self) -> dict[str, str]:
        """These settings as the ``CRMBATCH_*`` variables :meth:`from_env` reads back (how a
        child process started by ``serve`` gets them)."""
        return {
            "CRMBATCH_DATABASE_URL": self.database_url,
            "CRMBATCH_EMBEDDED_WORKER": str(self.embedded_worker).lower(),
            "CRMBATCH_WEBHOOK_ALLOW_PRIVATE": str(self.webhook_allow_private).lower(),
            "CRMBATCH_LOG_LEVEL": self.log_level,
            "CRMBATCH_METRICS": str(self.metrics_enabled).lower(),
            "CRMBATCH_LEASE_SECONDS": repr(self.lease_seconds),
            "CRMBATCH_POLL_INTERVAL": repr(self.poll_interval),
            "CRMBATCH_DEBUG_APPLY_DELAY": repr(self.debug_apply_delay),
            "CRMBATCH_WEBHOOK_RETRY_BASE": repr(self.webhook_retry_base),
            "CRMBATCH_WEBHOOK_RETRY_FOR": repr(self.webhook_retry_for),
            "CRMBATCH_WEBHOOK_TIMEOUT": repr(self.webhook_timeout),
            "CRMBATCH_RATE_LIMIT": self.rate_limit or "off",
            "CRMBATCH_SYNC_WAIT": repr(self.sync_wait),
            "CRMBATCH_WORKER_PROCESS": str(self.worker_process).lower(),
        }

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        url = env.get("CRMBATCH_DATABASE_URL") or DEFAULT_DATABASE_URL
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        if not (url.startswith("sqlite") or url.startswith("postgresql+psycopg://")):
            raise ConfigError(
                f"CRMBATCH_DATABASE_URL={url!r}: use sqlite:///path or postgresql+psycopg://…"
            )
        is_sqlite = url.startswith("sqlite")
        level = (env.get("CRMBATCH_LOG_LEVEL") or "info").lower()
        if level not in {"debug", "info", "warning", "error", "critical"}:
            raise ConfigError(f"CRMBATCH_LOG_LEVEL={level!r}: use debug, info, warning or error")
        return cls(
            database_url=url,
            embedded_worker=_bool(env, "CRMBATCH_EMBEDDED_WORKER", is_sqlite),
            webhook_allow_private=_bool(env, "CRMBATCH_WEBHOOK_ALLOW_PRIVATE", False),
            log_level=level,
            metrics_enabled=_bool(env, "CRMBATCH_METRICS", True),
            lease_seconds=_float(env, "CRMBATCH_LEASE_SECONDS", 30.0),
            # PostgreSQL workers are woken by NOTIFY; they only look on their own now and then
            poll_interval=_float(env, "CRMBATCH_POLL_INTERVAL", 0.05 if is_sqlite else 1.0),
            debug_apply_delay=_float(env, "CRMBATCH_DEBUG_APPLY_DELAY", 0.0),
            webhook_retry_base=_float(env, "CRMBATCH_WEBHOOK_RETRY_BASE", 10.0),
            webhook_retry_for=_float(env, "CRMBATCH_WEBHOOK_RETRY_FOR", 24 * 3600.0),
            webhook_timeout=_float(env, "CRMBATCH_WEBHOOK_TIMEOUT", 10.0),
            sync_wait=_float(env, "CRMBATCH_SYNC_WAIT", 30.0),
            worker_process=_bool(env, "CRMBATCH_WORKER_PROCESS", True),
            rate_limit=_rate_limit(env),
        )
