"""Pages for people: a browser that follows a dead short link gets a page, not problem JSON.

Most people who meet Spito only click a link someone sent them. On the routes a browser opens
directly (`/{id}`, `/{id}/raw`, any other path outside the API), an error answer is negotiated:
a client whose Accept header prefers `text/html` (q-values and specificity weighed by
python-mimeparse) gets a small HTML page in the web app's look, with no script, that says what
happened, what to do, and links home. Every other client (curl's `*/*`, `application/json`, no
Accept at all) gets the problem JSON it always got, byte for byte: the HTML only replaces a
problem response, after the app has answered, so no handler knows about pages.

One thing a page says that the JSON does not: when the item expired. An expired item that
DynamoDB has not yet deleted (TTL deletion lags, up to about two days) is known to have expired,
and when; `ExpiredError`'s handler notes that in the request's state, and the page answers
`410 Gone` with the date. The expiry time was public while the item lived (the API's
`expires_at`), so the page reveals nothing its creator did not publish. A deleted item, or an
expired one already swept, leaves no trace: that is a plain 404 (Spito keeps no tombstones).

The page's styles are `/errors/error.css` from the web app's build (`web/public/errors/`): the
page meets the web app's Content-Security-Policy (no inline style or script), which the edge
adds to it.
"""

from __future__ import annotations

import html
import json
import re
import time
from dataclasses import dataclass, replace

from mimeparse import best_match  # type: ignore[import-untyped]  # no type hints shipped
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.problems import PROBLEM_CONTENT_TYPE
from service.removed import removed_page_text

HTML_TYPE = "text/html"
# What an error can be sent as. On a tie (curl's */*) the last wins: JSON, as before. A client
# listing application/json is asking for the problem JSON, which is JSON.
_OFFERED = (HTML_TYPE, "application/json", PROBLEM_CONTENT_TYPE)
# Paths only programs use: their errors stay problem JSON whatever the Accept header says.
_PROGRAM_PREFIXES = ("/api/",)
_PROGRAM_PATHS = frozenset({"/healthz", "/readyz", "/openapi.json"})
_PAGE_METHODS = frozenset({"GET", "HEAD"})
_ITEM_PATH = re.compile(r"/(?P<id>[^/]+)(?P<raw>/raw)?")
STYLESHEET = "/errors/error.css"
_EXPIRED_STATE = "spito_expired"
_BODY_HEADERS = frozenset({b"content-type", b"content-length", b"content-encoding"})


@dataclass(frozen=True, kw_only=True)
class Expired:
    """What a page may say of an item that expired: its kind and when (epoch seconds)."""

    kind: str  # "link" or "paste"
    expires_at: int


HOME_LINKS = (("/", "Go to Spito's home page"),)


@dataclass(frozen=True, kw_only=True)
class Page:
    status: int
    heading: str
    sentences: tuple[str, ...]  # plain text, escaped when written out
    links: tuple[tuple[str, str], ...] = HOME_LINKS  # (href, text): what the visitor can do next


_PAGES_BY_STATUS = {
    404: Page(
        status=404,
        heading="Nothing here",
        sentences=(
            "There is nothing at this address on Spito.",
            "Check the address with whoever sent it to you.",
        ),
    ),
    429: Page(
        status=429,
        heading="Too many requests",
        sentences=(
            "Spito is getting too many requests from your network right now.",
            "Wait a minute, then try the same address again.",
        ),
    ),
    503: Page(
        status=503,
        heading="Spito is briefly unavailable",
        sentences=(
            "Spito cannot reach its storage right now. Nothing is lost: links and pastes are "
            "kept while this lasts.",
            "Try the same address again in a minute.",
        ),
    ),
}
_SERVER_ERROR_PAGE = Page(
    status=500,
    heading="Something went wrong",
    sentences=(
        "Something went wrong on Spito's side. It has been logged.",
        "Try the same address again in a minute.",
    ),
)


def note_expired(scope: Scope, expired: Expired) -> None:
    """Tell the page (if one is sent) that the item asked for expired, and when."""
    scope.setdefault("state", {})[_EXPIRED_STATE] = expired


def prefers_html(accept: str | None) -> bool:
    """Whether a client sending this Accept header prefers an HTML page to problem JSON."""
    if not accept:
        return False
    try:
        # Media types are case-insensitive (RFC 9110 section 8.3.1); mimeparse compares as given.
        return bool(best_match(list(_OFFERED), accept.lower()) == HTML_TYPE)
    except ValueError:  # a media range mimeparse cannot read: not a browser's header
        return False


def is_page_path(path: str) -> bool:
    """Whether a browser may open `path` directly (so its errors are negotiated)."""
    return path not in _PROGRAM_PATHS and not path.startswith(_PROGRAM_PREFIXES)


class VisitorPages:
    """ASGI middleware: problem responses on page paths become pages for HTML-preferring clients.

    Responses that are not problem JSON pass through untouched and unbuffered; the Accept header
    is read only once a problem response starts. Negotiated responses carry `Vary: Accept`.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in _PAGE_METHODS
            or not is_page_path(scope["path"])
        ):
            await self._app(scope, receive, send)
            return
        problem_start: Message | None = None
        body = bytearray()

        async def send_negotiated(message: Message) -> None:
            nonlocal problem_start
            if message["type"] == "http.response.start":
                if not _is_problem(message):
                    await send(message)
                    return
                if not prefers_html(_header(scope, b"accept")):
                    message["headers"] = [*message["headers"], (b"vary", b"Accept")]
                    await send(message)
                    return
                problem_start = message
                return
            if problem_start is None:
                await send(message)
                return
            body.extend(message.get("body", b""))
            if not message.get("more_body", False):
                await _send_page(scope, problem_start, bytes(body), send)

        await self._app(scope, receive, send_negotiated)


def _header(scope: Scope, name: bytes) -> str | None:
    values = [value for key, value in scope["headers"] if key.lower() == name]
    return b", ".join(values).decode("latin-1") if values else None


def _is_problem(start: Message) -> bool:
    for name, value in start.get("headers", []):
        if name.lower() == b"content-type":
            return bool(value.split(b";")[0].strip() == PROBLEM_CONTENT_TYPE.encode())
    return False


async def _send_page(scope: Scope, start: Message, problem_body: bytes, send: Send) -> None:
    page = page_for(scope, status=start["status"], problem=_problem_fields(problem_body))
    content = render(page).encode()
    # The problem's own headers (Retry-After, Cache-Control...) but those describing its body:
    # the page is new, uncompressed bytes (compression belongs outside this middleware).
    kept = [
        (name, value)
        for name, value in start.get("headers", [])
        if name.lower() not in _BODY_HEADERS
    ]
    headers = [
        *kept,
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", str(len(content)).encode()),
        (b"vary", b"Accept"),
        # Search engines: a dead link's page is nothing to index (robots.txt says the same).
        (b"x-robots-tag", b"noindex"),
    ]
    await send({"type": "http.response.start", "status": page.status, "headers": headers})
    await send({"type": "http.response.body", "body": content, "more_body": False})


def _problem_fields(body: bytes) -> dict[str, object]:
    try:
        document = json.loads(body)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def page_for(scope: Scope, *, status: int, problem: dict[str, object]) -> Page:
    """The page standing in for a problem with `status` on the request `scope`."""
    expired = scope.get("state", {}).get(_EXPIRED_STATE)
    if isinstance(expired, Expired):
        return _expired_page(expired)
    removed = removed_page_text(problem)
    if removed is not None:
        return Page(status=status, heading=removed[0], sentences=removed[1])
    item = _ITEM_PATH.fullmatch(scope["path"])
    if item and status == 404:
        return _missing_item_page(raw=bool(item["raw"]))
    if item and str(problem.get("type", "")).endswith(":burn-after-reading"):
        return _burn_after_reading_page(item["id"], status)
    if status in _PAGES_BY_STATUS:
        return _PAGES_BY_STATUS[status]
    if status >= 500:
        return replace(_SERVER_ERROR_PAGE, status=status)
    return Page(
        status=status,
        heading=str(problem.get("title") or "This request could not be answered"),
        sentences=(str(problem.get("detail") or "Spito could not answer this request."),),
    )


def _missing_item_page(*, raw: bool) -> Page:
    thing = "paste" if raw else "link or paste"
    return Page(
        status=404,
        heading=f"There is no {thing} here",
        sentences=(
            f"Spito has no {thing} at this address. It may have been mistyped, or it expired "
            "or was deleted by the person who made it; Spito cannot tell which.",
            "Check the address with whoever sent it to you, or ask them for a new one.",
        ),
    )


def _burn_after_reading_page(paste_id: str, status: int) -> Page:
    return Page(
        status=status,
        heading="This paste is read on its page",
        sentences=(
            "This paste burns after reading: it can be shown once, on its page, and is deleted "
            "as it is shown. Its raw text is never served.",
            "Open it on its page to read it; nobody can read it after you.",
        ),
        links=((f"/p/{paste_id}", "Open the paste's page"), *HOME_LINKS),
    )


def _expired_page(expired: Expired) -> Page:
    thing = "link" if expired.kind == "link" else "paste"
    when = time.strftime("%d %B %Y at %H:%M UTC", time.gmtime(expired.expires_at)).lstrip("0")
    return Page(
        status=410,
        heading=f"This {thing} has expired",
        sentences=(
            f"This {thing} expired on {when}: every link and paste on Spito lasts only as long "
            "as it was made to, and an expired one is gone for good.",
            "Ask whoever sent it to you for a new one.",
        ),
    )


def render(page: Page) -> str:
    """The page as a complete HTML document: no script, styles from the web app's build."""
    heading = html.escape(page.heading, quote=False)
    paragraphs = "\n".join(f"<p>{html.escape(text, quote=False)}</p>" for text in page.sentences)
    links = "\n".join(
        f'<p><a href="{html.escape(href)}">{html.escape(text, quote=False)}</a></p>'
        for href, text in page.links
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{heading} · Spito</title>
<meta property="og:title" content="Spito">
<meta property="og:description" content="Short links and pastes">
<link rel="stylesheet" href="{STYLESHEET}">
</head>
<body>
<header class="site-header"><a class="brand" href="/">Spito</a></header>
<main id="main">
<h1>{heading}</h1>
{paragraphs}
{links}
</main>
</body>
</html>
"""
