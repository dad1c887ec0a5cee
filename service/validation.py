"""Validation of user input: target URLs, slugs, expiry, paste bodies. Pure functions, no I/O.

Every failure raises `InvalidInputError` (or `TooLargeError`) with a message fit to show the
user and the request field it concerns; the HTTP layer turns it into a 400 (413) problem whose
`field` member names that field.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Collection
from urllib.parse import urlsplit, urlunsplit

import idna

MAX_URL_LENGTH = 2048
ALLOWED_SCHEMES = frozenset({"http", "https"})
# Every id and slug matches this, so it is also what a path must match to name a record.
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{3,64}")
# Paths the service and the web app use at the top level, so a slug can never shadow them.
# Compared case-insensitively: a slug differing only in case would confuse readers. Paths the
# pattern refuses anyway are not listed: those with a dot (`openapi.json`, `index.html`,
# `favicon.ico`, `robots.txt`, `.well-known`, ...) and those under 3 characters (`p`).
RESERVED_SLUGS = frozenset(
    {
        "api",
        "healthz",
        "readyz",
        "assets",
        "static",
        "new",
        "about",
        "docs",
        "raw",
        "links",
        "pastes",
        "admin",
    }
)
SYNTAXES = (
    "text",
    "bash",
    "c",
    "cpp",
    "csharp",
    "css",
    "diff",
    "dockerfile",
    "go",
    "html",
    "java",
    "javascript",
    "json",
    "kotlin",
    "markdown",
    "php",
    "python",
    "ruby",
    "rust",
    "sql",
    "swift",
    "toml",
    "typescript",
    "xml",
    "yaml",
)
DEFAULT_SYNTAX = "text"
_HOSTNAME_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


class InvalidInputError(ValueError):
    """User input broke a rule: `field` is the request field at fault (`url`, `slug`, ...).

    The message is the field's name and the rule it broke ("url must have a host"), so it reads
    as a sentence and says how to fix the input.
    """

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field} {rule}")
        self.field = field


class TooLargeError(InvalidInputError):
    """Content is over the configured maximum number of bytes."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__("content", f"must be at most {max_bytes} bytes")


def validate_slug(slug: str) -> str:
    if not ID_PATTERN.fullmatch(slug):
        raise InvalidInputError("slug", "must be 3-64 characters of A-Z, a-z, 0-9, '_' and '-'")
    if slug.lower() in RESERVED_SLUGS:
        raise InvalidInputError("slug", f"{slug!r} is reserved; choose another")
    return slug


def normalize_target_url(raw: str, *, refused_hosts: Collection[str]) -> str:
    """Check a link target and return its canonical form (lower-case scheme, punycode host).

    `refused_hosts` are Spito's own host names (lower case): a link to Spito itself would
    make redirect loops and disguise where a link really goes.
    """
    if len(raw) > MAX_URL_LENGTH:
        raise InvalidInputError("url", f"must be at most {MAX_URL_LENGTH} characters")
    _utf8("url", raw)
    if any(character.isspace() or unicodedata.category(character) == "Cc" for character in raw):
        raise InvalidInputError("url", "must not contain whitespace or control characters")
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as error:
        raise InvalidInputError("url", f"is malformed: {error}") from None
    if port == 0:
        raise InvalidInputError("url", "port must be 1-65535")
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise InvalidInputError("url", "must start with http:// or https://")
    if "@" in parts.netloc:
        raise InvalidInputError("url", "must not contain user information (user:password@)")
    if not parts.hostname:
        raise InvalidInputError("url", "must have a host")
    host = _ascii_host(parts.hostname)
    if host.strip("[]") in refused_hosts or host in refused_hosts:
        raise InvalidInputError("url", "points at Spito itself; links to Spito are not allowed")
    netloc = host if port is None else f"{host}:{port}"
    normalized = urlunsplit(
        (
            scheme,
            netloc,
            _percent_encode_non_ascii(parts.path),
            _percent_encode_non_ascii(parts.query),
            _percent_encode_non_ascii(parts.fragment),
        )
    )
    if len(normalized) > MAX_URL_LENGTH:
        raise InvalidInputError("url", f"must be at most {MAX_URL_LENGTH} characters once encoded")
    return normalized


def has_allowed_scheme(url: str) -> bool:
    """The redirect-time check: only http(s) targets are ever sent to a browser."""
    return urlsplit(url).scheme.lower() in ALLOWED_SCHEMES


def validate_expires_in(
    expires_in: int | None, *, default: int, minimum: int, maximum: int, allow_never: bool
) -> int | None:
    """Seconds until expiry, or None for never; `expires_in` 0 asks for never."""
    if expires_in is None:
        return default
    if expires_in == 0:
        if not allow_never:
            raise InvalidInputError("expires_in", "0 (never) is not allowed here")
        return None
    if not minimum <= expires_in <= maximum:
        raise InvalidInputError("expires_in", f"must be between {minimum} and {maximum} seconds")
    return expires_in


def validate_syntax(syntax: str | None) -> str:
    if syntax is None:
        return DEFAULT_SYNTAX
    if syntax not in SYNTAXES:
        raise InvalidInputError("syntax", f"must be one of: {', '.join(SYNTAXES)}")
    return syntax


def encode_paste(content: str, *, max_bytes: int) -> bytes:
    """The paste's UTF-8 bytes, exactly as given (never trimmed)."""
    return _checked_paste(_utf8("content", content), max_bytes)


def decode_paste(data: bytes, *, max_bytes: int) -> str:
    """The paste's text from its UTF-8 bytes, exactly as sent."""
    try:
        return _checked_paste(data, max_bytes).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError("content", "must be valid UTF-8 text") from None


def _checked_paste(data: bytes, max_bytes: int) -> bytes:
    if not data:
        raise InvalidInputError("content", "must not be empty")
    if len(data) > max_bytes:
        raise TooLargeError(max_bytes)
    return data


def _utf8(field: str, text: str) -> bytes:
    """`text` as UTF-8; JSON escapes can smuggle in lone surrogates, which have no encoding."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(field, "must be valid UTF-8 text") from None


def _ascii_host(hostname: str) -> str:
    """Host in ASCII: IP literals as they are, names lower-cased and IDNA-encoded (punycode)."""
    try:
        address = ipaddress.ip_address(hostname)
    except ValueError:
        pass
    else:
        return f"[{address.compressed}]" if address.version == 6 else address.compressed
    name = hostname.rstrip(".")
    try:
        ascii_name = idna.encode(name, uts46=True).decode("ascii").lower()
    except idna.IDNAError as error:
        raise InvalidInputError("url", f"host is not a valid domain name: {error}") from None
    if not all(_HOSTNAME_LABEL.fullmatch(label) for label in ascii_name.split(".")):
        raise InvalidInputError("url", "host is not a valid domain name")
    return ascii_name


def _percent_encode_non_ascii(text: str) -> str:
    return "".join(
        character if ord(character) < 128 else "".join(f"%{b:02X}" for b in character.encode())
        for character in text
    )
