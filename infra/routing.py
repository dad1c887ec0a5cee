"""The one routing table: which paths the web app (S3) serves and which the API (the ALB) serves.

CloudFront's cache behaviours are generated from `ROUTES` (in order, first match wins, the
default behaviour last), and the local dev router (`scripts/dev_router.py`) matches the same
patterns with the same rules, so the two cannot drift. Patterns use CloudFront's path-pattern
syntax: `*` matches any run of characters (slashes included), `?` exactly one, case-sensitive.

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
    """One cache behaviour: requests whose path matches `pattern` go to `origin`."""

    pattern: str
    origin: Origin
    why: str


ROUTES: tuple[Route, ...] = (
    Route(pattern="/api/*", origin=Origin.API, why="the JSON API"),
    Route(pattern="/healthz", origin=Origin.API, why="liveness"),
    Route(pattern="/readyz", origin=Origin.API, why="readiness"),
    Route(pattern="/openapi.json", origin=Origin.API, why="API description; before /*.*"),
    Route(pattern="/assets/*", origin=Origin.SPA, why="Vite's hashed build output"),
    Route(pattern="/p/*", origin=Origin.SPA, why="the paste page, an app route"),
    Route(pattern="/*.*", origin=Origin.SPA, why="files at the root; ids never contain a dot"),
    Route(pattern="/?*", origin=Origin.API, why="short links /{id} and /{id}/raw"),
)
# What matches none of the above: only "/" itself, the web app's home page.
DEFAULT_ORIGIN = Origin.SPA

# The SPA's fallback document: an app route (a path whose last segment has no dot) is served
# this file; a path naming a file is served that file. The CloudFront Function
# `infra/edge_function/spa_fallback.js` applies the same rule at the edge.
SPA_INDEX = "/index.html"


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    body = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.compile(body, re.DOTALL)


def matches(pattern: str, path: str) -> bool:
    """Whether CloudFront's path pattern `pattern` matches the URL path `path` (no query)."""
    return _compiled(pattern).fullmatch(path) is not None


def origin_for(path: str) -> Origin:
    """The origin CloudFront sends a request for `path` to."""
    for route in ROUTES:
        if matches(route.pattern, path):
            return route.origin
    return DEFAULT_ORIGIN


def spa_object_key(path: str) -> str:
    """The file the SPA serves for `path`: the file named, or index.html for an app route."""
    last_segment = path.rsplit("/", 1)[-1]
    return path if "." in last_segment else SPA_INDEX
