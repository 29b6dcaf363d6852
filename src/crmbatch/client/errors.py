"""The client's exceptions: one root, :class:`CrmbatchError`, and one class per kind of failure.

Every answer the server refuses becomes an :class:`ApiError` subclass chosen by status code,
carrying the server's own message (whatever the dialect's error body looks like).
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson


class CrmbatchError(Exception):
    """The root of every error this client raises."""


class TransportError(CrmbatchError):
    """The server could not be reached, or stopped answering, even after the retries."""


class ApiError(CrmbatchError):
    """The server answered with an error status."""

    def __init__(
        self, status_code: int, message: str, *, code: str | None = None, body: Any = None
    ) -> None:
        super().__init__(f"{status_code}: {message}")
        self.status_code = status_code
        self.message = message
        self.code = code
        self.body = body


class BadRequest(ApiError):
    """400: the request is invalid; nothing was stored."""


class Unauthorized(ApiError):
    """401: the API key is missing, unknown or revoked."""


class Forbidden(ApiError):
    """403"""


class NotFound(ApiError):
    """404: no such object type, process or record in this account."""


class Conflict(ApiError):
    """409: for example an Idempotency-Key reused with another body."""


class PayloadTooLarge(ApiError):
    """413: the body is over the server's limit."""


class Unprocessable(ApiError):
    """422"""


class RateLimited(ApiError):
    """429: still over the rate limit after the retries."""


class ServerError(ApiError):
    """5xx: the server failed, even after the retries."""


class ProcessFailed(CrmbatchError):
    """A process ended ``failed``: it could not run at all (not one record failing)."""

    def __init__(self, process: dict[str, Any]) -> None:
        super().__init__(f"process {process.get('id')} failed: {process.get('error')}")
        self.process = process


class WaitTimeout(CrmbatchError):
    """A process did not complete within the time given."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: Unprocessable,
    429: RateLimited,
}


def error_for(response: httpx.Response) -> ApiError:
    """The exception for an error answer, with the message of whichever dialect answered
    (Brevo and native ``{code, message}``, HubSpot ``{category, message}``, MainBrainer
    ``{status, message}``)."""
    try:
        body: Any = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = response.text
    message, code = None, None
    if isinstance(body, dict):
        message = body.get("message")
        code = body.get("code") or body.get("category")
    if not isinstance(message, str) or not message:
        message = (body if isinstance(body, str) and body else None) or response.reason_phrase
    status = response.status_code
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else ApiError)
    return cls(status, str(message), code=code if isinstance(code, str) else None, body=body)
