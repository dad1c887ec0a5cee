"""`POST /api/v1/reports`: anyone may report a link or paste as harmful.

`{"id", "reason", "details"?}`, `reason` one of `REPORT_REASONS`, `details` at most 1,000
characters: 202 once stored. Rate limited like creation, by its own buckets. The client is
known only by a salted hash (service/moderation.py): one client's repeated reports of an item
count once, and when `SPITO_REPORT_HOLD_THRESHOLD` distinct clients have reported it the item
is held (410 on every public route) until an operator decides with `spito-admin`.
"""

from __future__ import annotations

import asyncio
import logging
import time
import unicodedata

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from service import bodies
from service.core import Spito
from service.hot_cache import RedirectCache
from service.moderation import MAX_DETAILS_CHARS, REPORT_REASONS, Moderation
from service.problems import Problem
from service.ratelimit import RateLimiter, admit
from service.settings import Settings
from service.validation import ID_PATTERN

log = logging.getLogger("spito.reports")

# Counted by the held-items alarm's metric filter (infra/abuse_alarm.py).
HELD_LOG_MESSAGE = "item held after reports"
REPORT_BODY_LIMIT = 16 * 1024  # 1,000 characters even if each is sent as a \uXXXX pair
REPORT_FIELDS = frozenset({"id", "reason", "details"})


class ReportsApi:
    def __init__(
        self,
        *,
        settings: Settings,
        spito: Spito,
        moderation: Moderation,
        cache: RedirectCache,
        limiter: RateLimiter,
    ) -> None:
        self._settings = settings
        self._spito = spito
        self._moderation = moderation
        self._cache = cache
        self._limiter = limiter

    def routes(self) -> list[Route]:
        return [Route("/api/v1/reports", self.report, methods=["POST"])]

    async def report(self, request: Request) -> Response:
        address = admit(
            self._limiter,
            forwarded_for=request.headers.getlist("x-forwarded-for"),
            peer=request.client.host if request.client else None,
            position_from_right=self._settings.client_ip_position,
            what="reports",
        )
        bodies.require_media_type(request, "application/json")
        document = await bodies.read_json_object(request, REPORT_BODY_LIMIT, REPORT_FIELDS)
        item_id = bodies.field(document, "id", str, required=True) or ""
        reason = bodies.field(document, "reason", str, required=True) or ""
        details = bodies.field(document, "details", str) or ""
        _validate(item_id, reason, details)
        # 404 for an unknown or expired id; a held or taken-down one answers 410.
        await asyncio.to_thread(self._spito.record, item_id)
        outcome = await asyncio.to_thread(
            self._moderation.report,
            item_id=item_id,
            reason=reason,
            details=details,
            client_address=address,
            hold_threshold=self._settings.report_hold_threshold,
            now=int(time.time()),
        )
        if outcome.held:
            self._cache.forget(item_id)
            # infra/abuse_alarm.py counts this exact message: keep the two in step.
            log.warning(HELD_LOG_MESSAGE)
        return JSONResponse(
            {"id": item_id, "reason": reason, "status": "received"},
            status_code=202,
            headers={"Cache-Control": "no-store"},
        )


def _validate(item_id: str, reason: str, details: str) -> None:
    if not ID_PATTERN.fullmatch(item_id):
        raise _invalid("id", "id must be the id of a link or paste (3-64 of A-Z a-z 0-9 _ -)")
    if reason not in REPORT_REASONS:
        raise _invalid("reason", f"reason must be one of {', '.join(REPORT_REASONS)}")
    if len(details) > MAX_DETAILS_CHARS:
        raise _invalid("details", f"details must be at most {MAX_DETAILS_CHARS} characters")
    # Operators read details in a terminal (spito-admin): no escape sequences reach it, and
    # no lone surrogate (a JSON \ud800 escape), which no terminal's UTF-8 can print.
    if any(unicodedata.category(c) == "Cs" for c in details):
        raise _invalid("details", "details must be valid UTF-8 text")
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in details):
        raise _invalid("details", "details must not contain control characters")


def _invalid(field: str, detail: str) -> Problem:
    return Problem(400, detail, slug="invalid-field", field=field)
