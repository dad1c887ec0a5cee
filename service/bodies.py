"""Request bodies: content types, size caps enforced while the body streams in, JSON fields."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from starlette.requests import Request

from service.problems import Problem

T = TypeVar("T")

# Bodies are decoded as UTF-8, and ASCII text is UTF-8 text byte for byte.
UTF8_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})


def require_media_type(request: Request, *allowed: str) -> str:
    """The request's media type (lower case) if it is one of `allowed` in a UTF-8 charset."""
    media_type, _, parameters = request.headers.get("content-type", "").partition(";")
    found = media_type.strip().lower()
    if found not in allowed:
        raise Problem(
            415,
            f"Content-Type must be {' or '.join(allowed)}, not {found or 'missing'}.",
            slug="unsupported-media-type",
        )
    charset = _charset(parameters)
    if charset is not None and charset not in UTF8_CHARSETS:
        raise Problem(
            415,
            f"The charset must be utf-8 (or us-ascii), not {charset}: convert the body to "
            "UTF-8 (for example with iconv -t UTF-8) and send charset=utf-8, or no charset.",
            slug="unsupported-media-type",
        )
    return found


def _charset(parameters: str) -> str | None:
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None


async def read_capped(request: Request, limit: int, *, field: str | None = None) -> bytes:
    """The body, refusing (413) as soon as it is known to exceed `limit` bytes.

    `field` is the request field that makes a body this large (a paste's content), if any.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit, field)
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise _too_large(limit, field)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int, field: str | None) -> Problem:
    return Problem(
        413, f"The request body must be at most {limit} bytes.", slug="too-large", field=field
    )


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
    """A typed field: absent or null gives None; a wrong type is a 400 naming the field.

    Details start with the field's name, as `InvalidInputError` messages do.
    """
    value = document.get(name)
    if value is None:
        if required:
            raise Problem(400, f"{name} is required", slug="invalid-field", field=name)
        return None
    # JSON Schema counts 60.0 as an integer; bool is an int in Python, but `true` is not.
    if kind is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise Problem(
            400,
            f"{name} must be a JSON {_json_type(kind)}",
            slug="invalid-field",
            field=name,
        )
    return value


def _json_type(kind: type) -> str:
    return {str: "string", int: "integer", bool: "boolean"}.get(kind, kind.__name__)
