"""Request bodies: content types, size caps enforced while the body streams in, JSON fields."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from starlette.requests import Request

from service.problems import Problem

T = TypeVar("T")


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def require_media_type(request: Request, *allowed: str) -> str:
    found = media_type(request)
    if found not in allowed:
        raise Problem(
            415,
            f"Content-Type must be {' or '.join(allowed)}, not {found or 'missing'}.",
            slug="unsupported-media-type",
        )
    charset = request.headers.get("content-type", "").lower().partition("charset=")[2]
    if charset and charset.strip().strip('"') not in {"utf-8", "utf8"}:
        raise Problem(415, "Only the UTF-8 charset is accepted.", slug="unsupported-media-type")
    return found


async def read_capped(request: Request, limit: int) -> bytes:
    """The body, refusing (413) as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> Problem:
    return Problem(413, f"The request body must be at most {limit} bytes.", slug="too-large")


def parse_json_object(body: bytes, allowed_fields: frozenset[str]) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise Problem(400, "The body is not valid JSON.", slug="malformed-json") from None
    if not isinstance(document, dict):
        raise Problem(400, "The body must be a JSON object.", slug="malformed-json")
    unknown = sorted(set(document) - allowed_fields)
    if unknown:
        raise Problem(400, f"Unknown fields: {', '.join(unknown)}.", slug="invalid-field")
    return document


def field(
    document: dict[str, Any], name: str, kind: type[T], *, required: bool = False
) -> T | None:
    """A typed field: absent or null gives None; a wrong type is a 400 naming the field."""
    value = document.get(name)
    if value is None:
        if required:
            raise Problem(400, f"Field {name!r} is required.", slug="invalid-field")
        return None
    # JSON Schema counts 60.0 as an integer; bool is an int in Python, but `true` is not.
    if kind is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise Problem(
            400, f"Field {name!r} must be of type {_json_type(kind)}.", slug="invalid-field"
        )
    return value


def _json_type(kind: type) -> str:
    return {str: "string", int: "integer", bool: "boolean"}.get(kind, kind.__name__)
