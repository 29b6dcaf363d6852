"""crmbatch's Python client: push any number of records or events through the Brevo batch
endpoints, with bounded concurrency, retries that never apply a batch twice, and one report.

>>> from crmbatch.client import Client
>>> with Client("http://127.0.0.1:8000", api_key) as c:
...     report = c.objects("vehicle").upsert(rows)    # any iterable, any length
...     report.ok, report.counts, report.failures
"""

from crmbatch.client._async import AsyncClient, AsyncObjects
from crmbatch.client._client import Client, Objects
from crmbatch.client.errors import (
    ApiError,
    BadRequest,
    Conflict,
    CrmbatchError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ProcessFailed,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
    Unprocessable,
    WaitTimeout,
)
from crmbatch.client.report import Failure, Progress, Report

__all__ = [
    "ApiError",
    "AsyncClient",
    "AsyncObjects",
    "BadRequest",
    "Client",
    "Conflict",
    "CrmbatchError",
    "Failure",
    "Forbidden",
    "NotFound",
    "Objects",
    "PayloadTooLarge",
    "ProcessFailed",
    "Progress",
    "RateLimited",
    "Report",
    "ServerError",
    "TransportError",
    "Unauthorized",
    "Unprocessable",
    "WaitTimeout",
]
