"""Absolute URLs of Spito itself: from SPITO_PUBLIC_URL, else from the request."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from starlette.requests import Request

from service.problems import Problem
from service.settings import Settings

_HOST_HEADER = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
# CloudFront's header carries the viewer's scheme; X-Forwarded-Proto from the ALB carries the
# scheme between CloudFront and the ALB, so it is only the fallback.
_SCHEME_HEADERS = ("cloudfront-forwarded-proto", "x-forwarded-proto")


def base_url(request: Request, settings: Settings) -> str:
    if settings.public_url:
        return settings.public_url
    return f"{_scheme(request)}://{_host(request)}"


def own_hosts(request: Request, settings: Settings) -> frozenset[str]:
    """Host names that are Spito itself, lower case, without ports."""
    hosts = set(settings.public_hosts)
    if settings.public_url:
        hosts.add((urlsplit(settings.public_url).hostname or "").lower())
    request_host = urlsplit(f"//{_host(request)}").hostname
    if request_host:
        hosts.add(request_host.lower())
    return frozenset(hosts)


def _scheme(request: Request) -> str:
    for header in _SCHEME_HEADERS:
        value = request.headers.get(header, "").split(",", 1)[0].strip().lower()
        if value in {"http", "https"}:
            return value
    return request.url.scheme


def _host(request: Request) -> str:
    host = request.headers.get("host", "")
    if not _HOST_HEADER.fullmatch(host):
        raise Problem(400, "The Host header is missing or malformed.", slug="bad-host")
    return host
