"""Assembles the ASGI application: the hot path, request logging, the API, and background work.

`GET /{id}` for a link seen in the last 30 s is answered straight from the redirect cache,
before any routing, because it is most of the traffic. Everything else goes to Starlette.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import aws
from service.access_log import RequestLog, configure_logging
from service.api import Api
from service.blobs import Blobs
from service.blocklist import Blocklist
from service.bots import BotClassifier, user_agent
from service.clicks import ClickCounter
from service.compression import compressed
from service.core import (
    BurnAfterReadingOnlyError,
    ExpiredError,
    NotBurnAfterReadingError,
    NotFoundError,
    RemovedError,
    SlugTakenError,
    Spito,
    WrongTokenError,
)
from service.cross_site import CrossSiteGuard, own_origins
from service.deployment_hosts import DeploymentHosts, ssm_parameter_reader
from service.edge_caching import never_cached_unless_marked
from service.hot_cache import RedirectCache
from service.moderation import Moderation
from service.problems import Problem, not_found
from service.ratelimit import RateLimiter
from service.removed import removed_problem
from service.reports_api import ReportsApi
from service.settings import Settings
from service.storage_errors import StorageUnavailableError
from service.table import Table
from service.validation import InvalidInputError, TooLargeError
from service.visitor_pages import Expired, VisitorPages, note_expired

log = logging.getLogger("spito.app")

# Threads for boto3 calls: storage latency, not CPU, bounds them.
STORAGE_THREADS = 64
LOG_FLUSH_SECONDS = 0.5
_EMPTY_BODY = {"type": "http.response.body", "body": b"", "more_body": False}


def create_app(settings: Settings | None = None) -> ASGIApp:
    """The whole service; `python -m service` serves it. Reads settings from the environment."""
    settings = settings or Settings.from_env()
    # Here rather than in __main__: with several workers, each process builds its own app.
    configure_logging(settings.log_level)
    if settings.public_url is None:
        log.warning(
            "SPITO_PUBLIC_URL is not set: short URLs are built from each request's Host header; "
            "set it wherever Spito is deployed"
        )
    dynamodb = aws.dynamodb_client(settings)
    table = Table(dynamodb, settings.table)
    blobs = Blobs(aws.s3_client(settings), settings.bucket)
    cache = RedirectCache(
        ttl_seconds=settings.cache_ttl_seconds, max_entries=settings.cache_max_entries
    )
    clicks = ClickCounter(
        table.add_clicks,
        is_bot=BotClassifier.maintained().is_bot,
        retention_days=settings.click_retention_days,
    )
    spito = Spito(settings, table, blobs)
    moderation = Moderation(dynamodb, settings.table)
    blocklist = Blocklist(moderation, on_change=cache.clear)
    deployment_hosts = (
        DeploymentHosts(
            ssm_parameter_reader(aws.ssm_client(settings), settings.public_hosts_parameter)
        )
        if settings.public_hosts_parameter
        else None
    )
    api = Api(
        settings=settings,
        spito=spito,
        cache=cache,
        clicks=clicks,
        limiter=RateLimiter(
            per_minute=settings.rate_limit_per_minute, burst=settings.rate_limit_burst
        ),
        blocklist=blocklist,
        deployment_hosts=deployment_hosts,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(STORAGE_THREADS, thread_name_prefix="storage")
        )
        # Before the first request, so no link to a blocked domain redirects after a restart.
        with contextlib.suppress(StorageUnavailableError):
            await blocklist.refresh()
        tasks = [
            asyncio.create_task(clicks.run(settings.click_flush_seconds)),
            asyncio.create_task(_flush_logs_periodically()),
            asyncio.create_task(blocklist.run(settings.blocklist_refresh_seconds)),
        ]
        if deployment_hosts is not None:
            tasks.append(
                asyncio.create_task(deployment_hosts.run(settings.public_hosts_refresh_seconds))
            )
        yield
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await clicks.flush()
        RequestLog.flush()

    reports = ReportsApi(
        settings=settings,
        spito=spito,
        moderation=moderation,
        cache=cache,
        limiter=RateLimiter(
            per_minute=settings.rate_limit_per_minute, burst=settings.rate_limit_burst
        ),
    )

    starlette = Starlette(
        routes=[*api.routes(), *reports.routes()],
        lifespan=lifespan,
        exception_handlers={
            Problem: _problem_response,
            HTTPException: _http_exception_response,
            InvalidInputError: _invalid_input(400, "invalid-input"),
            TooLargeError: _invalid_input(413, "too-large"),
            NotFoundError: _status_response(404, "not-found", not_found().detail),
            ExpiredError: _expired,
            RemovedError: _removed,
            WrongTokenError: _status_response(
                403, "wrong-delete-token", "Missing or wrong X-Delete-Token."
            ),
            SlugTakenError: _status_response(
                409, "slug-taken", "slug is taken; choose another", field="slug"
            ),
            NotBurnAfterReadingError: _status_response(
                409, "not-burn-after-reading", "This paste is read with GET, not opened."
            ),
            BurnAfterReadingOnlyError: _status_response(
                409, "burn-after-reading", "This paste can only be read once, via POST .../open."
            ),
            StorageUnavailableError: _storage_unavailable,
            # The client left mid-body: its fault, not a server error to alarm on.
            ClientDisconnect: _status_response(
                400, "client-disconnected", "The client closed the connection mid-body."
            ),
            Exception: _unexpected_error,
        },
    )
    # A path with a trailing slash is another path: 404, not a redirect to a guess.
    starlette.router.redirect_slashes = False
    guarded = CrossSiteGuard(starlette, trusted_origins=own_origins(settings))
    # Compression outside the pages, so an HTML error page is compressed like any answer; the
    # cached redirects of SpitoApp's fast path carry their own no-store (service/hot_cache.py).
    return SpitoApp(
        never_cached_unless_marked(compressed(VisitorPages(guarded))), cache=cache, clicks=clicks
    )


class SpitoApp:
    """The outermost ASGI layer: the cached-redirect fast path and one log line per request."""

    def __init__(self, app: ASGIApp, *, cache: RedirectCache, clicks: ClickCounter) -> None:
        self._app = app
        self._cache = cache
        self._clicks = clicks
        self._log = RequestLog()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = self._log.new_request_id()
        if scope["method"] == "GET":
            link_id = scope["path"][1:]
            redirect = self._cache.get(link_id)
            if redirect is not None:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 302,
                        "headers": [*redirect.headers, (b"x-request-id", request_id.encode())],
                    }
                )
                await send(_EMPTY_BODY)
                self._clicks.count(link_id, user_agent(scope))
                self._log.write_redirect(started, request_id)
                return
        await self._routed(scope, receive, send, started, request_id)

    async def _routed(
        self, scope: Scope, receive: Receive, send: Send, started: float, request_id: str
    ) -> None:
        status = 500
        response_started = False

        async def send_with_request_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self._app(scope, receive, send_with_request_id)
        except Exception:
            # Starlette answered 500 problem JSON and logged the error already; swallowing it
            # here keeps the server from printing a second traceback.
            if not response_started:
                await _unexpected_error(Request(scope), RuntimeError("no response"))(
                    scope, receive, send_with_request_id
                )
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            self._log.write(scope["method"], template, status, started, request_id)


async def _flush_logs_periodically() -> None:
    while True:
        await asyncio.sleep(LOG_FLUSH_SECONDS)
        RequestLog.flush()


def _problem_response(_: Request, error: Exception) -> Response:
    assert isinstance(error, Problem)
    return error.response()


def _http_exception_response(_: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    details = {404: "No such route.", 405: "Method not allowed on this route."}
    detail = details.get(error.status_code, str(error.detail))
    return Problem(error.status_code, detail, headers=dict(error.headers or {})).response()


def _status_response(
    status: int, slug: str, detail: str, *, field: str | None = None
) -> Callable[[Request, Exception], Response]:
    """A handler answering `status` problem JSON with a fixed detail."""

    def respond(_: Request, error: Exception) -> Response:
        return Problem(status, detail, slug=slug, field=field).response()

    return respond


def _expired(request: Request, error: Exception) -> Response:
    """The not-found problem, as for any missing item; a page for a browser also says when."""
    assert isinstance(error, ExpiredError)
    note_expired(request.scope, Expired(kind=error.kind, expires_at=error.expires_at))
    return Problem(404, not_found().detail, slug="not-found").response()


def _removed(_: Request, error: Exception) -> Response:
    assert isinstance(error, RemovedError)
    return removed_problem(error.kind, error.removal).response()


def _invalid_input(status: int, slug: str) -> Callable[[Request, Exception], Response]:
    """A handler answering `status` problem JSON naming the field the input error is about."""

    def respond(_: Request, error: Exception) -> Response:
        assert isinstance(error, InvalidInputError)
        return Problem(status, str(error), slug=slug, field=error.field).response()

    return respond


def _storage_unavailable(_: Request, error: Exception) -> Response:
    log.warning("storage unavailable: %s", error)
    return Problem(
        503,
        "Storage is unavailable; retry shortly.",
        slug="storage-unavailable",
        headers={"Retry-After": "1"},
    ).response()


def _unexpected_error(_: Request, error: Exception) -> Response:
    log.error("unexpected error", exc_info=error)
    return Problem(
        500, "An unexpected error occurred; it has been logged.", slug="internal-error"
    ).response()
