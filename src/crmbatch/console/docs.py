"""The landing page and the API docs, served with their assets from crmbatch itself: nothing
on these pages is fetched from another host, so they work on a machine without internet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from crmbatch.console.render import STATIC, page

#: Swagger UI and ReDoc, as the fastapi-offline package ships them
DOC_ASSETS = Path(fastapi_offline.__file__).parent / "static"

router = APIRouter(include_in_schema=False)

#: the doc pages may load nothing from another host (ReDoc's bundle names a logo on its CDN)
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)


def _offline(html: HTMLResponse) -> HTMLResponse:
    html.headers["Content-Security-Policy"] = DOCS_POLICY
    return html


@router.get("/", response_class=HTMLResponse)
def landing(request: Request) -> Any:
    return page(request, "landing.html", metrics=request.app.state.settings.metrics_enabled)


@router.get("/docs", response_class=HTMLResponse)
def swagger(request: Request) -> HTMLResponse:
    return _offline(
        get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="crmbatch API",
            swagger_js_url="/static/docs/swagger-ui-bundle.js",
            swagger_css_url="/static/docs/swagger-ui.css",
            swagger_favicon_url="/static/docs/favicon.png",
        )
    )


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    return _offline(
        get_redoc_html(
            openapi_url="/openapi.json",
            title="crmbatch API",
            redoc_js_url="/static/docs/redoc.standalone.js",
            redoc_favicon_url="/static/docs/favicon.png",
            with_google_fonts=False,
        )
    )


def mount(app: FastAPI) -> None:
    """The landing page, the docs and their static files, and the console's."""
    app.mount("/static/docs", StaticFiles(directory=DOC_ASSETS), name="doc-assets")
    app.mount("/static/console", StaticFiles(directory=STATIC), name="console-assets")
    app.include_router(router)
