"""The local stand-in for CloudFront: one port that serves the web app and proxies the API.

Paths are routed by `infra.routing` (the table CloudFront's behaviours are generated from): the
web app's files come from `web/dist` with the same index.html fallback as the edge's CloudFront
Function, everything else is proxied to the service. Like CloudFront's origin request policy, the
proxy forwards only the viewer headers of `infra.routing.VIEWER_HEADERS` (a header the service
starts reading fails here as in production until it is added there), sets the headers
CloudFront adds itself, and appends the client address to X-Forwarded-For. Responses carry the
edge's security headers (`infra.edge_headers`), so the web app meets the production CSP locally.

`devstack.stack` starts it on `make dev`'s public port when the web app is built:

    python -m devstack.edge_router --port 8080 --upstream http://127.0.0.1:8081 --web-dist web/dist
"""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Iterable
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Route

from infra.edge_headers import DEFAULT_HEADERS, ENFORCED_HEADERS, spa_cache_control
from infra.routing import VIEWER_HEADERS, Origin, origin_for, spa_object_key

# RFC 9110 section 7.6.1: meaningful for one connection only, never forwarded by a proxy.
HOP_BY_HOP_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
ROUTER_OWN_HEADERS = frozenset({"date", "server"})  # uvicorn sets its own
DROPPED_RESPONSE_HEADERS = HOP_BY_HOP_HEADERS | ROUTER_OWN_HEADERS
# The viewer headers CloudFront forwards, and Content-Length, which frames any body it sends on.
FORWARDED_VIEWER_HEADERS = frozenset(name.lower() for name in (*VIEWER_HEADERS, "Content-Length"))
ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]
SPA_METHODS = frozenset({"GET", "HEAD"})  # the bucket's behaviours allow only these
ORIGIN_TIMEOUT_SECONDS = 30.0  # CloudFront's default origin response timeout


def _problem(status: int, title: str, detail: str) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return Response(json.dumps(body), status, media_type="application/problem+json")


def _filtered(
    headers: Iterable[tuple[bytes, bytes]], *, keep: Callable[[str], bool]
) -> list[tuple[bytes, bytes]]:
    """The headers whose lower-case name `keep` accepts, in order, repeats included."""
    return [(name, value) for name, value in headers if keep(name.decode("latin-1").lower())]


def _forwarded_for(request: Request) -> str:
    client = request.client.host if request.client else "127.0.0.1"
    earlier = request.headers.get("x-forwarded-for")
    return f"{earlier}, {client}" if earlier else client


def _raw_target(request: Request) -> bytes:
    """The request target as the client sent it: path still percent-encoded, then the query."""
    raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
    query: bytes = request.scope.get("query_string", b"")
    return raw_path + b"?" + query if query else raw_path


def _has_body(request: Request) -> bool:
    return "content-length" in request.headers or "transfer-encoding" in request.headers


class DevRouter:
    """Routes each request by the routing table to the web app's files or the service."""

    def __init__(self, *, upstream: str, web_dist: Path, origin_timeout_seconds: float) -> None:
        self.upstream = upstream
        self.origin_timeout_seconds = origin_timeout_seconds
        self.upstream_url = httpx.URL(upstream)
        self.web_dist = web_dist.resolve()
        self.client = httpx.AsyncClient(
            timeout=origin_timeout_seconds,
            follow_redirects=False,
            # A proxy keeps no cookies: the service's Set-Cookie is the viewer's business, and a
            # shared jar would send one viewer's cookies with everyone's requests.
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        )
        # httpx's own defaults (User-Agent, Accept, Accept-Encoding) are headers CloudFront's
        # policy would not forward: the service sees only what the proxy sets.
        self.client.headers.clear()

    async def dispatch(self, request: Request) -> Response:
        if origin_for(request.url.path) is Origin.API:
            response = await self.proxy(request)
        else:
            response = self.serve_spa(request)
        for name, value in ENFORCED_HEADERS.items():
            response.headers[name] = value
        for name, value in DEFAULT_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    def serve_spa(self, request: Request) -> Response:
        if request.method not in SPA_METHODS:
            return _problem(403, "Forbidden", f"{request.method} is not allowed on the web app")
        key = spa_object_key(request.url.path)
        file = (self.web_dist / key.lstrip("/")).resolve()
        if not file.is_relative_to(self.web_dist) or not file.is_file():
            return _problem(404, "Not Found", f"{key} is not in {self.web_dist}")
        return FileResponse(file, headers={"cache-control": spa_cache_control(key)})

    async def proxy(self, request: Request) -> Response:
        scheme = request.url.scheme.encode("latin-1")
        headers = [
            *_filtered(request.headers.raw, keep=FORWARDED_VIEWER_HEADERS.__contains__),
            # What CloudFront adds (infra.routing.CLOUDFRONT_HEADERS), and then the ALB.
            (b"cloudfront-forwarded-proto", scheme),
            (b"x-forwarded-for", _forwarded_for(request).encode("latin-1")),
            (b"x-forwarded-proto", scheme),
        ]
        upstream_request = self.client.build_request(
            request.method,
            self.upstream_url.copy_with(raw_path=_raw_target(request)),
            headers=headers,
            content=request.stream() if _has_body(request) else None,
        )
        try:
            upstream_response = await self.client.send(upstream_request, stream=True)
        except httpx.TimeoutException:
            detail = f"the service at {self.upstream} took over {self.origin_timeout_seconds} s"
            return _problem(504, "Gateway Timeout", detail)
        except httpx.TransportError as error:
            detail = f"the service at {self.upstream} did not answer: {type(error).__name__}"
            return _problem(502, "Bad Gateway", detail)
        response = StreamingResponse(
            upstream_response.aiter_raw(),
            status_code=upstream_response.status_code,
            background=BackgroundTask(upstream_response.aclose),
        )
        response.raw_headers = _filtered(
            upstream_response.headers.raw, keep=lambda name: name not in DROPPED_RESPONSE_HEADERS
        )
        return response

    async def close(self) -> None:
        await self.client.aclose()


def create_app(
    *, upstream: str, web_dist: Path, origin_timeout_seconds: float = ORIGIN_TIMEOUT_SECONDS
) -> Starlette:
    """The dev router as an ASGI app: `upstream` is the service's base URL."""
    router = DevRouter(
        upstream=upstream, web_dist=web_dist, origin_timeout_seconds=origin_timeout_seconds
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await router.close()

    return Starlette(
        routes=[Route("/{path:path}", router.dispatch, methods=ALL_METHODS)], lifespan=lifespan
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True, help="the public port")
    parser.add_argument("--upstream", required=True, help="the service's base URL")
    parser.add_argument("--web-dist", type=Path, default=Path("web/dist"))
    args = parser.parse_args()
    app = create_app(upstream=args.upstream, web_dist=args.web_dist)
    # proxy_headers off: the router is the first hop, so the TCP peer is the client address.
    uvicorn.run(app, host=args.host, port=args.port, proxy_headers=False, log_level="warning")


if __name__ == "__main__":
    main()
