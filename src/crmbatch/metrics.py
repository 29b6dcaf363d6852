"""Prometheus metrics (names are part of the contract; see the README).

With several server processes (``crmbatch serve --workers N``) each process writes its values to
files in ``PROMETHEUS_MULTIPROC_DIR`` (``serve`` sets it) and ``/metrics``, whichever process
answers, sums them all. A ``crmbatch worker`` serves its own with ``--metrics-port``.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "crmbatch_http_requests_total",
    "HTTP requests by method, route and status",
    ["method", "route", "status"],
    registry=REGISTRY,
)
BATCHES_ACCEPTED = Counter(
    "crmbatch_batches_accepted_total", "Batches accepted", ["kind"], registry=REGISTRY
)
BATCHES_APPLIED = Counter(
    "crmbatch_batches_applied_total", "Batches applied", ["kind"], registry=REGISTRY
)
RECORDS_APPLIED = Counter(
    "crmbatch_records_applied_total",
    "Records applied, by outcome",
    ["kind", "status"],
    registry=REGISTRY,
)
APPLY_SECONDS = Histogram(
    "crmbatch_apply_seconds",
    "Time to apply one batch",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(
    "crmbatch_queue_depth",
    "Processes not yet completed",
    ["status"],
    registry=REGISTRY,
    multiprocess_mode="mostrecent",  # read from the database by whichever process is scraped
)

WEBHOOK_ATTEMPTS = Counter(
    "crmbatch_webhook_attempts_total",
    "Webhook delivery attempts, by the delivery's state after it (delivered, pending, failed)",
    ["state"],
    registry=REGISTRY,
)


def observe_applied(kind: str, counts: dict[str, int], seconds: float) -> None:
    BATCHES_APPLIED.labels(kind).inc()
    APPLY_SECONDS.labels(kind).observe(seconds)
    for status, n in counts.items():
        if status != "received" and n:
            RECORDS_APPLIED.labels(kind, status).inc(n)


def exposition() -> bytes:
    """The text ``/metrics`` serves: this process's metrics, or every server process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)
