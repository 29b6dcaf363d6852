"""The ASGI app: mounts the dialects, renders every error in the dialect of its path, runs the
embedded worker when configured."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crmbatch import __version__, metrics, openapi_examples
from crmbatch.background import Background
from crmbatch.config import Settings
from crmbatch.console import docs as console_docs
from crmbatch.console import render as console_page
from crmbatch.console import routes as console_routes
from crmbatch.core.errors import (
    CrmError,
    InternalError,
    InvalidInput,
    MethodNotAllowed,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
)
from crmbatch.db.engine import Database
from crmbatch.dialects import common
from crmbatch.dialects.brevo import contact_lists as brevo_contact_lists
from crmbatch.dialects.brevo import contacts as brevo_contacts
from crmbatch.dialects.brevo import routes as brevo_routes
from crmbatch.dialects.brevo import translate as brevo
from crmbatch.dialects.hubspot import association_labels as hubspot_association_labels
from crmbatch.dialects.hubspot import associations as hubspot_associations
from crmbatch.dialects.hubspot import properties as hubspot_properties
from crmbatch.dialects.hubspot import property_groups as hubspot_property_groups
from crmbatch.dialects.hubspot import routes as hubspot_routes
from crmbatch.dialects.hubspot import schema_routes as hubspot_schema_routes
from crmbatch.dialects.hubspot import translate as hubspot
from crmbatch.dialects.mainbrainer import routes as mainbrainer_routes
from crmbatch.dialects.mainbrainer import translate as mainbrainer
from crmbatch.dialects.native import routes as native_routes
from crmbatch.ratelimit import RateLimiter
from crmbatch.runtime import tune_gc

log = logging.getLogger("crmbatch.app")

#: the console's pages answer errors as pages
CONSOLE = "/console"

ErrorRenderer = Callable[[CrmError], tuple[int, dict[str, Any]]]
RateHeaders = Callable[[Any], dict[str, str]]

#: path prefix → how that dialect renders an error and its rate-limit headers (first match
#: wins; native is the default)
RENDERERS: list[tuple[str, ErrorRenderer, RateHeaders]] = [
    ("/v3/", brevo.error_body, partial(common.rate_limit_headers, prefix="x-sib-ratelimit-")),
    ("/crm/", hubspot.error_body, hubspot.rate_limit_headers),
    ("/crm-object-schemas/", hubspot.error_body, hubspot.rate_limit_headers),
    ("/mainbrainer/", mainbrainer.error_body, common.rate_limit_headers),
]


def dialect_of(path: str) -> tuple[ErrorRenderer, RateHeaders]:
    """How errors and rate-limit headers look under ``path``."""
    return next(
        ((r, h) for prefix, r, h in RENDERERS if path.startswith(prefix)),
        (brevo.error_body, common.rate_limit_headers),
    )


#: path prefix → how that dialect's clients send their key (said in every 401)
AUTH_HINTS = [
    ("/v3/", "send your key in the api-key header (api-key: YOUR_KEY)"),
    ("/crm/", "send your key as Authorization: Bearer YOUR_KEY"),
    ("/crm-object-schemas/", "send your key as Authorization: Bearer YOUR_KEY"),
    ("/mainbrainer/", "send your key as Authorization: Bearer YOUR_KEY (or api-key: YOUR_KEY)"),
]
DEFAULT_AUTH_HINT = "send your key as api-key: YOUR_KEY or Authorization: Bearer YOUR_KEY"


def render_error(path: str, exc: CrmError) -> JSONResponse:
    if isinstance(exc, Unauthorized):
        hint = next((h for prefix, h in AUTH_HINTS if path.startswith(prefix)), DEFAULT_AUTH_HINT)
        exc = Unauthorized(f"{exc.message}; {hint}")
    renderer, _ = dialect_of(path)
    status, body = renderer(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if "correlationId" in body:
        headers["X-HubSpot-Correlation-Id"] = body["correlationId"]
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = common.retry_after(exc.decision)
    elif isinstance(exc, Unavailable):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    return JSONResponse(body, status_code=status, headers=headers or None)


class RateLimitHeadersMiddleware:
    """The key's rate-limit headers, in its dialect's names, on every answer (when limits are
    on): clients can slow down before they are refused."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def add(message: Message) -> None:
            if message["type"] == "http.response.start":
                decision = scope.get("state", {}).get("rate_limit")
                if decision is not None:
                    _, rate_headers = dialect_of(scope["path"])
                    extra = [
                        (k.lower().encode(), v.encode()) for k, v in rate_headers(decision).items()
                    ]
                    message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, add)


def _install_error_handlers(app: FastAPI) -> None:
    def render(request: Request, exc: CrmError) -> Response:
        if request.url.path.startswith(CONSOLE):
            return console_page.error(request, exc)
        return render_error(request.url.path, exc)

    @app.exception_handler(CrmError)
    async def _crm(request: Request, exc: CrmError) -> Response:
        return render(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            (common.error_path(tuple(e.get("loc") or ())[1:] or ("body",)), common._message(e))
            for e in exc.errors()
        ]
        return render(request, InvalidInput(problems))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            err: CrmError = NotFound(f"no route {request.method} {request.url.path}")
        elif exc.status_code == 405:
            err = MethodNotAllowed(f"method {request.method} not allowed on {request.url.path}")
        else:
            err = CrmError(str(exc.detail))
        response = render(request, err)
        for name, value in (exc.headers or {}).items():  # Allow, on a 405
            response.headers[name] = value
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("request.failed", extra={"path": request.url.path})
        return render(request, InternalError())


class MetricsMiddleware:
    """Counts requests by route template and status (pure ASGI: cheap on the hot path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            name = getattr(route, "path", "unmatched")
            metrics.HTTP_REQUESTS.labels(scope["method"], name, str(status["code"])).inc()
            if status["code"] >= 500:
                log.warning(
                    "request.5xx",
                    extra={"path": scope.get("path"), "seconds": time.perf_counter() - started},
                )


class CorrelationIdMiddleware:
    """HubSpot's ``X-HubSpot-Correlation-Id`` on every answer under its paths (errors carry the
    same value in their body; the error handler sets it first)."""

    PREFIXES = ("/crm/", "/crm-object-schemas/")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.PREFIXES):
            await self.app(scope, receive, send)
            return

        async def tag(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                name = b"x-hubspot-correlation-id"
                if not any(k.lower() == name for k, _ in headers):
                    headers.append((name, hubspot.correlation_id().encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, tag)


def _openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title="crmbatch",
            version=__version__,
            description="Batch-upsert CRM data hub speaking Brevo's v3 API, HubSpot's CRM v3 API "
            "and crmbatch's own.",
            routes=app.routes,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, model in common.BODY_MODELS.items():
            body = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for def_name, definition in body.pop("$defs", {}).items():
                components.setdefault(def_name, definition)
            components[name] = body
        schema.setdefault("components", {})["securitySchemes"] = {
            "api-key": {"type": "apiKey", "in": "header", "name": "api-key"},
            "bearer": {"type": "http", "scheme": "bearer"},
        }
        schema["security"] = [{"api-key": []}, {"bearer": []}]
        openapi_examples.add(schema, lambda path: dialect_of(path)[0])
        app.openapi_schema = schema
        return schema

    return build


def create_app(
    settings: Settings | None = None, db: Database | None = None, *, tune_runtime: bool = False
) -> FastAPI:
    """The app; ``tune_runtime`` (set by ``crmbatch serve``) tunes the process for throughput."""
    settings = settings or Settings.from_env()
    database = db or Database(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        background = Background(
            database,
            settings,
            workers=1 if settings.embedded_worker else 0,
            child=settings.worker_process,
        ).start()
        app.state.background = background
        if settings.embedded_worker:
            app.state.wake_worker = background.wake
        if tune_runtime:
            tune_gc()
        try:
            yield
        finally:
            background.stop()
            background.join(5)
            if db is None:
                database.dispose()

    app = FastAPI(
        title="crmbatch", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None
    )
    app.state.db = database
    app.state.settings = settings
    app.state.wake_worker = lambda: None
    app.state.background = None
    app.state.limiter = RateLimiter.from_spec(settings.rate_limit)
    _install_error_handlers(app)
    app.include_router(native_routes.router)
    app.include_router(native_routes.v1)
    app.include_router(brevo_contact_lists.router)  # first: "lists" is no contact identifier
    app.include_router(brevo_contacts.router)
    app.include_router(brevo_routes.router)
    app.include_router(hubspot_routes.router)
    app.include_router(hubspot_property_groups.router)  # first: "groups" is no property name
    app.include_router(hubspot_properties.router)
    app.include_router(hubspot_schema_routes.schemas_router)
    app.include_router(hubspot_associations.router)
    app.include_router(hubspot_association_labels.router)
    app.include_router(mainbrainer_routes.router)
    app.include_router(console_routes.router)
    console_docs.mount(app)
    app.add_middleware(CorrelationIdMiddleware)
    if app.state.limiter is not None:
        app.add_middleware(RateLimitHeadersMiddleware)
    app.add_middleware(MetricsMiddleware)
    app.openapi = _openapi(app)  # type: ignore[method-assign]
    return app


def serve_app() -> FastAPI:
    """The factory ``crmbatch serve`` hands to uvicorn: settings from the environment, tuned."""
    return create_app(tune_runtime=True)
