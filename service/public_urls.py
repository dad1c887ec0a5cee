"""Absolute URLs of Spito itself: from SPITO_PUBLIC_URL, else from the request."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from starlette.requests import Request

from service.problems import Problem
from service.settings import Settings

# A host name or a bracketed IPv6 literal, then an optional port (RFC 9110 section 7.2).
_HOST_HEADER = re.compile(
    r"(?:(?P<name>[A-Za-z0-9.-]+)|\[(?P<ipv6>[0-9A-Fa-f:.]+)\])(?::(?P<port>[0-9]{1,5}))?"
)
MAX_PORT = 65535
# CloudFront's header carries the viewer's scheme; X-Forwarded-Proto from the ALB carries the
# scheme between CloudFront and the ALB, so it is only the fallback.
_SCHEME_HEADERS = ("cloudfront-forwarded-proto", "x-forwarded-proto")


def base_url(request: Request, settings: Settings) -> str:
    """Spito's origin; a request without a usable Host header (and no SPITO_PUBLIC_URL) is a 400."""
    if settings.public_url:
        return settings.public_url
    return f"{_scheme(request)}://{_host(request)[0]}"


def own_hosts(request: Request, settings: Settings) -> frozenset[str]:
    """Host names that are Spito itself, lower case, without ports."""
    hosts = set(settings.public_hosts)
    if settings.public_url:
        hosts.add((urlsplit(settings.public_url).hostname or "").lower())
    hosts.add(_host(request)[1])
    return frozenset(hosts)


def _scheme(request: Request) -> str:
    for header in _SCHEME_HEADERS:
        value = request.headers.get(header, "").split(",", 1)[0].strip().lower()
        if value in {"http", "https"}:
            return value
    return request.url.scheme


def _host(request: Request) -> tuple[str, str]:
    """The Host header as sent, and its host name in lower case (an IPv6 one without brackets).

    Anything else than a host name or an IPv6 literal, with a port 0-65535, is a 400 problem.
    """
    host = request.headers.get("host", "")
    match = _HOST_HEADER.fullmatch(host)
    if match is None or int(match["port"] or 0) > MAX_PORT:
        raise _bad_host()
    if match["name"] is not None:
        return host, match["name"].lower()
    try:
        return host, ipaddress.IPv6Address(match["ipv6"]).compressed
    except ValueError:
        raise _bad_host() from None


def _bad_host() -> Problem:
    return Problem(400, "The Host header is missing or malformed.", slug="bad-host")
