"""The ceiling `make bench` measures Spito's hot path against: an ASGI app that does nothing.

It answers every request with the same 302 header block Spito's cached redirect sends (the
request id fixed), served by the same uvicorn with the same options, so the gap between it and
Spito is Spito's own work per redirect, and the gap between it and nginx is the Python server's.
"""

from __future__ import annotations

from starlette.types import Receive, Scope, Send

from bench.service import TARGET_URL
from service.hot_cache import RedirectCache

_cache = RedirectCache(ttl_seconds=30, max_entries=1)
_cache.put("x", TARGET_URL, seconds_left=None)
_redirect = _cache.get("x")
assert _redirect is not None
_START = {
    "type": "http.response.start",
    "status": 302,
    "headers": [*_redirect.headers, (b"x-request-id", b"00000000-1")],
}
_BODY = {"type": "http.response.body", "body": b"", "more_body": False}


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await send(_START)
        await send(_BODY)
