"""Templates, and errors shown as pages: a console page never answers JSON."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import orjson
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from crmbatch.core import clock
from crmbatch.core.errors import CrmError, Unauthorized

HERE = Path(__file__).parent
STATIC = HERE / "static"

env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _when(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = clock.iso(value)
    return str(value).replace("T", " ").split(".")[0].removesuffix("Z").removesuffix("+00:00")


def _value(value: Any) -> str:
    """An attribute value as text: strings as they are, the rest as JSON."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _query(params: dict[str, Any], **changes: Any) -> str:
    """The query string of ``params`` with ``changes`` (``None`` drops a key)."""
    merged = {k: v for k, v in {**params, **changes}.items() if v not in (None, "")}
    return "?" + urlencode(merged) if merged else "?"


env.filters["when"] = _when
env.filters["value"] = _value
env.globals["query"] = _query


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    session = getattr(request.state, "console_session", None)
    html = env.get_template(template).render(
        request=request,
        session=session,
        account=session.account if session else None,
        csrf=session.csrf if session else "",
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


#: no page may be framed, and none loads anything from elsewhere
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def error(request: Request, exc: CrmError) -> Response:
    """A console error as a page; without a valid session, the way to the login form."""
    if isinstance(exc, Unauthorized) and request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(
            f"/console/login?next={quote(target)}&why={quote(exc.message)}", status_code=303
        )
    return page(request, "error.html", status=exc.status, message=exc.message)
