"""Request bodies: content types, size caps enforced while the body streams in, JSON fields.

Memory is bounded per request and per worker. A body is refused (413) as soon as its declared
or received length passes the cap, and is held once, in one buffer. A body over
`LARGE_BODY_BYTES`, or of unknown length (chunked), is read only while holding one of a
worker's few `LargeBodySlots`: until a slot is free the server reads no more of it (uvicorn
stops reading a connection with 64 KiB waiting), so the rest waits at the client, not here.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import json
from collections.abc import AsyncIterator
from typing import Any, TypeVar

from starlette.requests import Request

from service.problems import Problem

T = TypeVar("T")

# Bodies over this need a `LargeBodySlots` slot: a link body (64 KiB) and an inline paste never do.
LARGE_BODY_BYTES = 1024 * 1024
BUSY_RETRY_SECONDS = 5
# glibc's malloc_trim, where the C library is glibc (Amazon Linux, Debian); None elsewhere.
_MALLOC_TRIM = getattr(ctypes.CDLL(ctypes.util.find_library("c")), "malloc_trim", None)
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


class LargeBodySlots:
    """At most `slots` requests of this worker hold a large body at once; others wait.

    A request that waits longer than `wait_seconds` for a slot is answered 503 with
    Retry-After: a large paste is refused for a while rather than the worker running out of
    memory. Requests with a small declared body never wait.
    """

    def __init__(self, *, slots: int, wait_seconds: float) -> None:
        self._semaphore = asyncio.Semaphore(slots)
        self._wait_seconds = wait_seconds

    @contextlib.asynccontextmanager
    async def held_for(self, request: Request) -> AsyncIterator[None]:
        """A slot for the whole request if its body may be large, else nothing to wait for."""
        declared = _declared_length(request)
        if declared is not None and declared <= LARGE_BODY_BYTES:
            yield
            return
        try:
            await asyncio.wait_for(self._semaphore.acquire(), self._wait_seconds)
        except TimeoutError:
            raise Problem(
                503,
                "Too many large bodies are being received; retry shortly.",
                slug="busy",
                headers={"Retry-After": str(BUSY_RETRY_SECONDS)},
            ) from None
        try:
            yield
        finally:
            self._semaphore.release()
            _give_back_free_memory()


def _give_back_free_memory() -> None:
    """Return the heap's free pages to the system after a large body (glibc's malloc_trim).

    glibc keeps freed memory for reuse and raises its mmap threshold after large frees, so
    without this a worker would keep its largest burst's memory resident for good.
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def refuse_declared_over(request: Request, limit: int, *, field: str | None = None) -> None:
    """A 413 before anything is read when the declared length is over `limit` bytes."""
    declared = _declared_length(request)
    if declared is not None and declared > limit:
        raise _too_large(limit, field)


async def read_capped(request: Request, limit: int, *, field: str | None = None) -> bytes:
    """The body, refusing (413) as soon as it is known to exceed `limit` bytes.

    `field` is the request field that makes a body this large (a paste's content), if any.
    """
    refuse_declared_over(request, limit, field=field)
    buffer = bytearray()
    async for chunk in request.stream():
        if len(buffer) + len(chunk) > limit:
            raise _too_large(limit, field)
        buffer += chunk
    return bytes(buffer)


def _declared_length(request: Request) -> int | None:
    declared = request.headers.get("content-length", "")
    return int(declared) if declared.isdigit() else None


def _too_large(limit: int, field: str | None) -> Problem:
    return Problem(
        413, f"The request body must be at most {limit} bytes.", slug="too-large", field=field
    )


async def read_json_object(
    request: Request, limit: int, allowed_fields: frozenset[str], *, field: str | None = None
) -> dict[str, Any]:
    """The body (at most `limit` bytes, see `read_capped`) as a JSON object of `allowed_fields`.

    The body's bytes are let go once decoded, before parsing: a large body is held about twice
    at its peak (bytes and text, then text and the parsed document), never three times.
    """
    return _parse_json_object(
        _utf8_json_text(await read_capped(request, limit, field=field)), allowed_fields
    )


def _parse_json_object(text: str, allowed_fields: frozenset[str]) -> dict[str, Any]:
    """The text as a JSON object of `allowed_fields`, read strictly.

    Only UTF-8 is JSON on the wire (RFC 8259 section 8.1): Python's own detection of UTF-16
    and UTF-32 is not used. A key given twice is refused (RFC 8259 section 4 leaves its
    meaning open), so no two readers of a body can disagree on what it says.
    """
    try:
        document = json.loads(text, object_pairs_hook=_refuse_duplicate_keys)
    except _DuplicateKeyError as error:
        raise Problem(
            400,
            f"The key {error.key[:64]!r} appears more than once in a JSON object; send it once.",
            slug="malformed-json",
        ) from None
    except (ValueError, RecursionError):
        raise Problem(400, "The body is not valid JSON.", slug="malformed-json") from None
    if not isinstance(document, dict):
        raise Problem(400, "The body must be a JSON object.", slug="malformed-json")
    unknown = sorted(set(document) - allowed_fields)
    if unknown:
        raise Problem(400, f"Unknown fields: {', '.join(unknown)}.", slug="invalid-field")
    return document


def _utf8_json_text(body: bytes) -> str:
    # No JSON text holds a raw NUL (RFC 8259 section 7), and ASCII in UTF-16 or UTF-32 is full
    # of them (how RFC 4627 section 3 told the encodings apart): such a body is not UTF-8 JSON.
    try:
        if b"\x00" not in body:
            return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    raise Problem(400, "The body must be JSON encoded as UTF-8 (RFC 8259).", slug="malformed-json")


class _DuplicateKeyError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise _DuplicateKeyError(key)
        seen.add(key)
    return dict(pairs)


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
