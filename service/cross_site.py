"""Refuses requests that change state when a browser sends them for a page of another site.

Any page can make a visitor's browser send a POST or DELETE to Spito (a form, or a `no-cors`
fetch with a text/plain body) that creates, burns or deletes. Browsers say where such a request
comes from; other clients (curl, scripts) say nothing and are let through unchanged, as they
cannot carry a visitor's identity anyway. The check is the one Go's net/http
CrossOriginProtection makes (src/net/http/csrf.go, Go 1.25); header values as MDN documents
Sec-Fetch-Site and Origin:

1. GET, HEAD and OPTIONS never change state: allowed.
2. `Sec-Fetch-Site` (every current browser sends it on every request): `same-origin` or `none`
   (typed, bookmarked) is allowed; `same-site` and `cross-site` are refused, unless `Origin` is
   one of Spito's own origins (SPITO_PUBLIC_URL, https:// on each SPITO_PUBLIC_HOSTS name).
3. Without it, an older browser still sends `Origin` on a POST or DELETE: allowed only if its
   host is the request's Host, or it is one of Spito's own origins. `Origin: null` (sandboxed
   frames, file: pages) is refused.
4. Neither header: not a browser. Allowed.

The edge forwards Origin and Sec-Fetch-Site to the service (infra/routing.py VIEWER_HEADERS).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from service.problems import Problem
from service.settings import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_ALLOWED_FETCH_SITES = frozenset({b"same-origin", b"none"})

CROSS_SITE_REFUSED = Problem(
    403,
    "A browser sent this request for a page of another site: Spito creates, opens and deletes "
    "only for its own pages. Use Spito's web app, or a client that is not a browser (curl).",
    slug="cross-site-request",
)


def own_origins(settings: Settings) -> frozenset[str]:
    """The origins of Spito's own pages, as a browser writes them in `Origin`."""
    origins = {f"https://{host}" for host in settings.public_hosts}
    if settings.public_url:
        parts = urlsplit(settings.public_url)
        origins.add(f"{parts.scheme}://{parts.netloc}".lower())
    return frozenset(origins)


class CrossSiteGuard:
    """ASGI middleware answering 403 problem JSON to cross-site requests that change state."""

    def __init__(self, app: ASGIApp, *, trusted_origins: frozenset[str]) -> None:
        self._app = app
        self._trusted = frozenset(origin.encode() for origin in trusted_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] not in SAFE_METHODS
            and self._is_cross_site(scope["headers"])
        ):
            await CROSS_SITE_REFUSED.response()(scope, receive, send)
            return
        await self._app(scope, receive, send)

    def _is_cross_site(self, headers: list[tuple[bytes, bytes]]) -> bool:
        fetch_site = _header(headers, b"sec-fetch-site")
        origin = _header(headers, b"origin")
        if fetch_site is not None:
            return fetch_site.lower() not in _ALLOWED_FETCH_SITES and origin not in self._trusted
        if origin is None:
            return False
        if origin in self._trusted:
            return False
        origin_host = origin.partition(b"://")[2].lower()
        host = (_header(headers, b"host") or b"").lower()
        return origin == b"null" or origin_host != host


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    """The value of the one header `name` (lower case), or None if absent."""
    for key, value in headers:
        if key == name:
            return value
    return None
