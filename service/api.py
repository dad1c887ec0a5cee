"""The HTTP API v1: routes, request parsing, responses. Knows nothing of DynamoDB or S3."""

from __future__ import annotations

import asyncio
import codecs
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, ParamSpec, TypeVar

from starlette.concurrency import iterate_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from service import bodies
from service.blocklist import Blocklist
from service.bots import user_agent
from service.clicks import ClickCounter, clicks_by_day
from service.core import Created, Spito
from service.deployment_hosts import DeploymentHosts
from service.hot_cache import NO_CACHE, NO_STORE, RedirectCache
from service.openapi import openapi_document
from service.problems import not_found
from service.public_urls import base_url, own_hosts
from service.ratelimit import RateLimiter, admit
from service.records import Link, Paste
from service.removed import blocked_problem
from service.settings import Settings
from service.validation import (
    ID_PATTERN,
    InvalidInputError,
    check_paste_bytes,
    encode_paste,
    is_redirectable,
    normalize_target_url,
    validate_expires_in,
    validate_slug,
    validate_syntax,
)

P = ParamSpec("P")
R = TypeVar("R")

# Room for a 2048-character URL even if every character is sent as a \uXXXX surrogate pair.
LINK_BODY_LIMIT = 64 * 1024
JSON_EXPANSION = 3
# Paste bodies over 1 MiB (bodies.LARGE_BODY_BYTES) one worker receives at once. Each holds
# about twice its body at its peak (2 x 30 MiB for a 10 MiB paste sent as escaped JSON), so two
# keep a worker within ~120 MiB of large bodies, however many arrive: a t4g.small's 2 GiB has
# room for both workers' share. Others wait up to LARGE_BODY_WAIT_SECONDS, then get a 503.
LARGE_BODY_SLOTS = 2
LARGE_BODY_WAIT_SECONDS = 10.0
RAW_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": NO_STORE,
}
LINK_FIELDS = frozenset({"url", "slug", "expires_in"})
PASTE_FIELDS = frozenset({"content", "syntax", "expires_in", "burn_after_reading"})
# Bodies taken as a paste's raw text. curl's --data-binary without -H sends the form type, but
# the bytes are the file as it is: they are never form-decoded.
RAW_TEXT_TYPES = ("text/plain", "application/x-www-form-urlencoded")


class Api:
    """Request handlers bound to one Spito instance, cache, click counter and rate limiter."""

    def __init__(
        self,
        *,
        settings: Settings,
        spito: Spito,
        cache: RedirectCache,
        clicks: ClickCounter,
        limiter: RateLimiter,
        blocklist: Blocklist,
        deployment_hosts: DeploymentHosts | None = None,
    ) -> None:
        self._settings = settings
        self._spito = spito
        self._cache = cache
        self._clicks = clicks
        self._limiter = limiter
        self._deployment_hosts = deployment_hosts
        self._large_bodies = bodies.LargeBodySlots(
            slots=LARGE_BODY_SLOTS, wait_seconds=LARGE_BODY_WAIT_SECONDS
        )
        self._blocklist = blocklist
        self._openapi = openapi_document(settings)

    def routes(self) -> list[Route]:
        return [
            Route("/healthz", self.healthz, methods=["GET"]),
            Route("/readyz", self.readyz, methods=["GET"]),
            Route("/openapi.json", self.openapi, methods=["GET"]),
            Route("/api/v1/links", self.create_link, methods=["POST"]),
            Route("/api/v1/links/{id}", self.get_link, methods=["GET"]),
            Route("/api/v1/links/{id}", self.delete_link, methods=["DELETE"]),
            Route("/api/v1/pastes", self.create_paste, methods=["POST"]),
            Route("/api/v1/pastes/{id}", self.get_paste, methods=["GET"]),
            Route("/api/v1/pastes/{id}", self.delete_paste, methods=["DELETE"]),
            Route("/api/v1/pastes/{id}/open", self.open_paste, methods=["POST"]),
            Route("/{id}", self.follow, methods=["GET"]),
            Route("/{id}/raw", self.raw, methods=["GET"]),
        ]

    def _own_hosts(self, request: Request) -> frozenset[str]:
        """Every name Spito answers to: configured, of this request, and published once deployed
        (the last set read in the background: no storage call here)."""
        published = self._deployment_hosts.current if self._deployment_hosts else frozenset()
        return own_hosts(request, self._settings) | published

    # Probes and documents

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"}, headers=NO_CACHE)

    async def readyz(self, request: Request) -> Response:
        await _in_thread(self._spito.check_ready)
        return JSONResponse({"status": "ready"}, headers=NO_CACHE)

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(self._openapi)

    # Links

    async def create_link(self, request: Request) -> Response:
        self._rate_limit(request)
        bodies.require_media_type(request, "application/json")
        document = await bodies.read_json_object(request, LINK_BODY_LIMIT, LINK_FIELDS)
        url = bodies.field(document, "url", str, required=True) or ""
        slug = bodies.field(document, "slug", str)
        url = normalize_target_url(url, refused_hosts=self._own_hosts(request))
        if self._blocklist.blocks(url):
            raise InvalidInputError(
                "url", "leads to a blocked domain (listed as harmful); it cannot be shortened"
            )
        if slug is not None:
            validate_slug(slug)
        expires_in = self._expiry(
            bodies.field(document, "expires_in", int), self._settings.link_expires_default_seconds
        )
        base = base_url(request, self._settings)  # a 400 for a bad Host comes before storing
        created = await _in_thread(
            self._spito.create_link, url=url, slug=slug, expires_in=expires_in
        )
        link = created.record
        short_url = f"{base}/{link.id}"
        return JSONResponse(
            {
                "id": link.id,
                "short_url": short_url,
                "url": link.url,
                "created_at": link.created_at,
                "expires_at": link.expires_at,
                "delete_token": created.delete_token,
            },
            status_code=201,
            headers={"Location": short_url, "Cache-Control": "no-store"},
        )

    async def get_link(self, request: Request) -> Response:
        link = await _in_thread(self._spito.link, _record_id(request))
        return JSONResponse(
            {
                "id": link.id,
                "url": link.url,
                "created_at": link.created_at,
                "expires_at": link.expires_at,
                "clicks": link.clicks,
                "bot_fetches": link.bot_fetches,
                "clicks_by_day": clicks_by_day(
                    link.clicks_by_day, retention_days=self._settings.click_retention_days
                ),
            },
            headers=NO_CACHE,
        )

    async def delete_link(self, request: Request) -> Response:
        return await self._delete(request, Link)

    # Pastes

    async def create_paste(self, request: Request) -> Response:
        self._rate_limit(request)
        kind = bodies.require_media_type(request, "application/json", *RAW_TEXT_TYPES)
        # Before anything is stored: a request whose URLs cannot be answered creates nothing.
        base = base_url(request, self._settings)
        raw_text = kind in RAW_TEXT_TYPES
        cap = self._paste_body_cap(raw_text=raw_text)
        bodies.refuse_declared_over(request, cap, field="content")
        async with self._large_bodies.held_for(request):
            if raw_text:
                return await self._create_raw_text_paste(request, base, cap)
            return await self._create_json_paste(request, base, cap)

    def _paste_body_cap(self, *, raw_text: bool) -> int:
        limit = self._settings.paste_max_bytes
        # Room for escapes: \uXXXX for every non-ASCII character of typical text is 2-3 times
        # its UTF-8 size. Text that escapes worse (control characters) fits as text/plain.
        return limit if raw_text else JSON_EXPANSION * limit + LINK_BODY_LIMIT

    async def _create_raw_text_paste(self, request: Request, base: str, cap: int) -> Response:
        data = check_paste_bytes(
            await bodies.read_capped(request, cap, field="content"),
            max_bytes=self._settings.paste_max_bytes,
        )
        created = await self._create_paste(data, None, None, burn=False)
        page = _paste_urls(base, created.record.id)[0]
        return PlainTextResponse(
            page + "\n",
            status_code=201,
            headers={
                "Location": page,
                "X-Delete-Token": created.delete_token,
                "Cache-Control": "no-store",
            },
        )

    async def _create_json_paste(self, request: Request, base: str, cap: int) -> Response:
        document = await bodies.read_json_object(request, cap, PASTE_FIELDS, field="content")
        # The content's text is let go once encoded: the upload holds only the bytes.
        data = encode_paste(
            bodies.field(document, "content", str, required=True) or "",
            max_bytes=self._settings.paste_max_bytes,
        )
        del document["content"]
        created = await self._create_paste(
            data,
            bodies.field(document, "syntax", str),
            bodies.field(document, "expires_in", int),
            burn=bool(bodies.field(document, "burn_after_reading", bool)),
        )
        paste = created.record
        page, raw = _paste_urls(base, paste.id)
        return JSONResponse(
            {
                "id": paste.id,
                "url": page,
                "raw_url": raw,
                "created_at": paste.created_at,
                "expires_at": paste.expires_at,
                "size": paste.size,
                "delete_token": created.delete_token,
            },
            status_code=201,
            headers={"Location": page, "Cache-Control": "no-store"},
        )

    async def _create_paste(
        self, data: bytes, syntax: str | None, expires_in: int | None, *, burn: bool
    ) -> Created[Paste]:
        return await _in_thread(
            self._spito.create_paste,
            data=data,
            syntax=validate_syntax(syntax),
            expires_in=self._expiry(expires_in, self._settings.paste_expires_default_seconds),
            burn=burn,
        )

    async def get_paste(self, request: Request) -> Response:
        paste = await _in_thread(self._spito.paste, _record_id(request))
        if paste.burn_after_reading:
            return JSONResponse({"content": None, **_paste_metadata(paste)}, headers=NO_CACHE)
        chunks: Iterator[bytes] = await _in_thread(self._spito.paste_bytes, paste)
        return _paste_response(paste, iterate_in_threadpool(chunks))

    async def open_paste(self, request: Request) -> Response:
        paste, chunks = await _in_thread(self._spito.open_burnable, _record_id(request))
        return _paste_response(paste, _from_memory(chunks))

    async def delete_paste(self, request: Request) -> Response:
        return await self._delete(request, Paste)

    # Short URLs

    async def follow(self, request: Request) -> Response:
        record_id = _record_id(request)
        record = await _in_thread(self._spito.record, record_id)
        if isinstance(record, Paste):
            location = _paste_urls(base_url(request, self._settings), record.id)[0]
            return Response(status_code=302, headers={"Location": location, **NO_CACHE})
        if not is_redirectable(record.url):
            raise not_found("link")
        if self._blocklist.blocks(record.url):
            raise blocked_problem()
        if request.method == "GET":
            self._clicks.count(record.id, user_agent(request.scope))
            seconds_left = None if record.expires_at is None else record.expires_at - time.time()
            self._cache.put(record.id, record.url, seconds_left=seconds_left)
        else:  # HEAD: link checkers and previews asking where it goes, never a person
            self._clicks.bot_fetch(record.id)
        return Response(status_code=302, headers={"Location": record.url, **NO_CACHE})

    async def raw(self, request: Request) -> Response:
        paste = await _in_thread(self._spito.paste, _record_id(request))
        chunks: Iterator[bytes] = await _in_thread(self._spito.paste_bytes, paste)
        return StreamingResponse(
            iterate_in_threadpool(chunks),
            media_type="text/plain; charset=utf-8",
            headers={
                **RAW_HEADERS,
                "Content-Length": str(paste.size),
                "Content-Disposition": f'inline; filename="{paste.id}.txt"',
            },
        )

    # Helpers

    async def _delete(self, request: Request, kind: type[Link] | type[Paste]) -> Response:
        record_id = _record_id(request)
        token = request.headers.get("x-delete-token")
        await _in_thread(self._spito.delete, record_id, kind=kind, token=token)
        self._cache.forget(record_id)
        return Response(status_code=204)

    def _rate_limit(self, request: Request) -> None:
        admit(
            self._limiter,
            forwarded_for=request.headers.getlist("x-forwarded-for"),
            peer=request.client.host if request.client else None,
            position_from_right=self._settings.client_ip_position,
            what="creations",
        )

    def _expiry(self, expires_in: int | None, default: int) -> int | None:
        return validate_expires_in(
            expires_in,
            default=default,
            minimum=self._settings.expires_min_seconds,
            maximum=self._settings.expires_max_seconds,
            allow_never=self._settings.allow_never_expire,
        )


def _record_id(request: Request) -> str:
    record_id = str(request.path_params["id"])
    # Other paths cannot name a record, so storage is not asked.
    if not ID_PATTERN.fullmatch(record_id):
        raise not_found()
    return record_id


def _paste_urls(base: str, paste_id: str) -> tuple[str, str]:
    """The paste's page in the web app, and its raw bytes."""
    return f"{base}/p/{paste_id}", f"{base}/{paste_id}/raw"


def _paste_response(paste: Paste, chunks: AsyncIterator[bytes]) -> Response:
    """The paste's JSON document, its content streamed from its UTF-8 chunks as they come.

    A paste of 10 MiB would otherwise be held four more times: joined, as text (up to 4 bytes
    a character), as JSON text and as the response's bytes.
    """
    return StreamingResponse(
        _document_with_content(paste, chunks), media_type="application/json", headers=NO_CACHE
    )


async def _document_with_content(
    paste: Paste, chunks: AsyncIterator[bytes]
) -> AsyncIterator[bytes]:
    # {"content":"...", then the other members: a JSON object's members have no order.
    yield b'{"content":"'
    decoder = codecs.getincrementaldecoder("utf-8")()
    async for chunk in chunks:
        yield _json_string_body(decoder.decode(chunk))
    others = json.dumps(_paste_metadata(paste), separators=(",", ":"))  # {"id":...}
    yield _json_string_body(decoder.decode(b"", final=True)) + b'",' + others[1:].encode()


def _json_string_body(text: str) -> bytes:
    """`text` escaped as inside a JSON string, in UTF-8, as Starlette's JSONResponse writes it."""
    return json.dumps(text, ensure_ascii=False)[1:-1].encode()


async def _from_memory(chunks: list[bytes]) -> AsyncIterator[bytes]:
    while chunks:
        yield chunks.pop(0)  # let each chunk go once sent


def _paste_metadata(paste: Paste) -> dict[str, Any]:
    """A paste's JSON document but its content."""
    return {
        "id": paste.id,
        "syntax": paste.syntax,
        "size": paste.size,
        "created_at": paste.created_at,
        "expires_at": paste.expires_at,
        "burn_after_reading": paste.burn_after_reading,
    }


def _in_thread(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> Awaitable[R]:
    return asyncio.to_thread(function, *args, **kwargs)
