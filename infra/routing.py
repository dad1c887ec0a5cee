"""The one routing table: which paths the web app (S3) serves and which the API (the ALB) serves,
and what a request to the API carries.

CloudFront's cache behaviours are generated from `ROUTES` (in order, first match wins, the
default behaviour last), and the local dev router (`devstack/edge_router.py`) matches the same
patterns with the same rules, so the two cannot drift. Patterns use CloudFront's path-pattern
syntax: `*` matches any run of characters (slashes included), `?` exactly one, case-sensitive.
The API origin request policy forwards `API_FORWARDED_HEADERS`, and the dev router forwards
those and nothing else.

This module imports nothing from the CDK: the dev router loads it too.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from functools import cache


class Origin(enum.Enum):
    """Where a request goes."""

    SPA = "spa"  # the web app's files in the private S3 bucket
    API = "api"  # the service, behind the ALB


@dataclass(frozen=True, kw_only=True)
class Route:
    """One cache behaviour: requests whose path matches `pattern` go to `origin`.

    `spa_fallback` (web app routes only): an app route under this pattern (a path whose last
    segment has no dot) is served `SPA_INDEX`, by the CloudFront Function
    `infra/edge_function/spa_fallback.js` at the edge; elsewhere a path is the file it names.
    """

    pattern: str
    origin: Origin
    why: str
    spa_fallback: bool = False

    def __post_init__(self) -> None:
        if self.spa_fallback and self.origin is not Origin.SPA:
            raise ValueError(f"{self.pattern}: only web app routes have an index.html fallback")


ROUTES: tuple[Route, ...] = (
    Route(pattern="/api/*", origin=Origin.API, why="the JSON API"),
    Route(pattern="/healthz", origin=Origin.API, why="liveness"),
    Route(pattern="/readyz", origin=Origin.API, why="readiness"),
    Route(pattern="/openapi.json", origin=Origin.API, why="API description; before /*.*"),
    Route(pattern="/assets/*", origin=Origin.SPA, why="Vite's hashed build output, files only"),
    Route(pattern="/p/*", origin=Origin.SPA, why="the paste page, an app route", spa_fallback=True),
    Route(pattern="/*.*", origin=Origin.SPA, why="files at the root; ids never contain a dot"),
    Route(pattern="/?*", origin=Origin.API, why="short links /{id} and /{id}/raw"),
)
# What matches none of the above: only "/" itself, the web app's home page, which CloudFront
# serves as its default root object, SPA_INDEX.
DEFAULT_ORIGIN = Origin.SPA
SPA_INDEX = "/index.html"
# The web app's page for "the service cannot be reached" (web/public/errors/unavailable.html):
# CloudFront's custom error responses answer it for 502 and 504, the local edge router when the
# service is down. A file path, so `/*.*` sends it to the bucket, never to the failing service.
ORIGIN_FAILURE_PAGE = "/errors/unavailable.html"

# What the service reads from a request besides its body (service/public_urls.py, api.py,
# bodies.py, cross_site.py), as the API's origin request policy forwards it. CloudFront adds
# CLOUDFRONT_HEADERS itself and appends the viewer's address to X-Forwarded-For; the viewer's
# other headers (cookies, Authorization, ...) never reach the service.
VIEWER_HEADERS = (
    "Host",  # the viewer's host: the service builds its URLs from it and refuses to shorten it
    "Content-Type",
    "X-Delete-Token",
    "Accept",  # browsers get an HTML error page, programs problem JSON (service/visitor_pages.py)
    # Where a browser's request comes from: cross-site ones that change state are refused.
    "Origin",
    "Sec-Fetch-Site",
    # Clicks by people are told from bots' fetches by it (service/bots.py). Unless a policy
    # forwards it, CloudFront sends its own ("Amazon CloudFront") and every click looks alike:
    # https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/RequestAndResponseBehaviorCustomOrigin.html
    "User-Agent",
)
CLOUDFRONT_HEADERS = (
    "CloudFront-Forwarded-Proto",  # the viewer's scheme (the ALB's X-Forwarded-Proto is its own)
)
API_FORWARDED_HEADERS = (*VIEWER_HEADERS, *CLOUDFRONT_HEADERS)


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    body = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.compile(body, re.DOTALL)


def matches(pattern: str, path: str) -> bool:
    """Whether CloudFront's path pattern `pattern` matches the URL path `path` (no query)."""
    return _compiled(pattern).fullmatch(path) is not None


def route_for(path: str) -> Route | None:
    """The first route whose pattern matches `path`; None for the default behaviour."""
    return next((route for route in ROUTES if matches(route.pattern, path)), None)


def origin_for(path: str) -> Origin:
    """The origin CloudFront sends a request for `path` to."""
    route = route_for(path)
    return route.origin if route else DEFAULT_ORIGIN


def spa_object_key(path: str) -> str:
    """The file the web app serves for `path` (a path CloudFront sends to the bucket).

    "/" is `SPA_INDEX` (CloudFront's default root object); under a route with `spa_fallback`,
    so is every app route; any other path is the file it names.
    """
    if path == "/":
        return SPA_INDEX
    route = route_for(path)
    is_app_route = "." not in path.rsplit("/", 1)[-1]
    return SPA_INDEX if route is not None and route.spa_fallback and is_app_route else path
