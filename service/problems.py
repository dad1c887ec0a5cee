"""RFC 9457 problem details: the one shape every error response of the API takes."""

from __future__ import annotations

import json
from http import HTTPStatus

from starlette.responses import Response

PROBLEM_CONTENT_TYPE = "application/problem+json"
# A URN: the types name kinds of problem; there is no documentation site to point at.
PROBLEM_TYPE_BASE = "urn:spito:problem:"


class Problem(Exception):  # noqa: N818 - it is raised, but it is the response, not an error type
    """An error answered to the client as problem JSON; raise it anywhere in a request.

    `field`, an extension member, names the request JSON field the problem concerns, when it
    concerns one: clients (the web app) use it to show the error beside that field.
    """

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        phrase = HTTPStatus(status).phrase
        self.title = phrase
        self.type = PROBLEM_TYPE_BASE + (slug or phrase.lower().replace(" ", "-"))
        self.field = field
        self.headers = headers or {}

    def body(self) -> bytes:
        document: dict[str, str | int] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.field is not None:
            document["field"] = self.field
        return json.dumps(document, separators=(",", ":")).encode()

    def response(self) -> Response:
        return Response(
            self.body(),
            status_code=self.status,
            media_type=PROBLEM_CONTENT_TYPE,
            headers={"Cache-Control": "no-store", **self.headers},
        )


def not_found(what: str = "resource") -> Problem:
    return Problem(404, f"No such {what}, or it has expired or been deleted.")
