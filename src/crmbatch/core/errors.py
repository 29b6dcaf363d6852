"""One exception tree for the core. Each dialect renders it in its own error body.

::

    CrmError                    (400) invalid input
    ├── MissingParameter        (400) a required field is absent
    ├── Duplicate               (400) what is to be created exists already (Brevo's contacts)
    ├── OutOfRange              (400) a number or count is outside its limits
    ├── Unauthorized            (401) no key, or a key that is unknown or revoked
    ├── PermissionDenied        (403) the key may not do this (e.g. a system type)
    ├── NotFound                (404) no such object type, record or process in this account
    ├── MethodNotAllowed        (405) the path exists, not with this method
    ├── NotAcceptable           (406) the client accepts no answer the route can give
    ├── Conflict                (409) idempotency key reused with another body, name taken
    ├── PayloadTooLarge         (413) the body is over the limit
    ├── UnsupportedMediaType    (415) the body is not sent as JSON
    ├── Unprocessable           (422) well-formed, but names what does not exist (a list)
    ├── RateLimited             (429) the key is over its rate limit; try again later
    ├── Unavailable             (503) not done now, nothing written; try again later
    └── InternalError           (500) a fault of crmbatch's; the server log says more
    └── FailedDependency        (424) the object type lacks what the call needs
"""

from __future__ import annotations

from typing import Any


class CrmError(Exception):
    """Invalid input. ``kind`` is the stable, dialect-neutral name of the error."""

    kind = "invalid"
    status = 400

    def __init__(self, message: str, *, field: str | None = None, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.context = context


class MissingParameter(CrmError):
    kind = "missing"


class OutOfRange(CrmError):
    kind = "out_of_range"


class Duplicate(CrmError):
    kind = "duplicate"


class Unauthorized(CrmError):
    kind = "unauthorized"
    status = 401


class PermissionDenied(CrmError):
    kind = "forbidden"
    status = 403


class NotFound(CrmError):
    kind = "not_found"
    status = 404


class MethodNotAllowed(CrmError):
    kind = "method_not_allowed"
    status = 405


class NotAcceptable(CrmError):
    kind = "not_acceptable"
    status = 406


class Unprocessable(CrmError):
    kind = "unprocessable"
    status = 422


class Conflict(CrmError):
    kind = "conflict"
    status = 409


class PayloadTooLarge(CrmError):
    kind = "too_large"
    status = 413


class UnsupportedMediaType(CrmError):
    kind = "unsupported_media_type"
    status = 415


class FailedDependency(CrmError):
    kind = "dependency"
    status = 424


class InvalidInput(CrmError):
    """Several problems found at once; ``problems`` holds ``(field, message)`` pairs."""

    def __init__(self, problems: list[tuple[str, str]], *, limit: int = 20) -> None:
        shown = [f"{f}: {m}" if f else m for f, m in problems[:limit]]
        more = len(problems) - limit
        text = "; ".join(shown) + (f"; and {more} more" if more > 0 else "")
        super().__init__(text, field=problems[0][0] if problems else None)
        self.problems = problems


class RateLimited(CrmError):
    """The key is over its rate limit; ``decision`` (a ratelimit.Decision) says for how long."""

    kind = "rate_limited"
    status = 429

    def __init__(self, message: str, *, decision: Any) -> None:
        super().__init__(message)
        self.decision = decision


class Unavailable(CrmError):
    """The request was not carried out and nothing was written; it may be sent again after
    ``retry_after`` seconds (earlier batches of the same object type are still being applied)."""

    kind = "unavailable"
    status = 503

    def __init__(self, message: str, *, retry_after: float = 1.0, **context: Any) -> None:
        super().__init__(message, **context)
        self.retry_after = retry_after


class InternalError(CrmError):
    """Something crmbatch did not expect went wrong (a bug); the server log has the details."""

    kind = "internal"
    status = 500

    def __init__(self, message: str = "internal error; see the server log") -> None:
        super().__init__(message)
