"""Validation of user input: target URLs, slugs, expiry, paste bodies. Pure functions, no I/O.

Every failure raises `InvalidInputError` with a message fit to show the user; the HTTP layer
turns it into a 400 problem.
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
SLUG_PATTERN = re.compile(r"[A-Za-z0-9_-]{3,64}")
# Paths the service and the web app use at the top level, so a slug can never shadow them.
# Compared case-insensitively: a slug differing only in case would confuse readers.
RESERVED_SLUGS = frozenset(
    {
        "api",
        "p",
        "healthz",
        "readyz",
        "openapi.json",
        "assets",
        "static",
        "index.html",
        "favicon.ico",
        "robots.txt",
        ".well-known",
        "new",
        "about",
        "docs",
        "raw",
        "links",
        "pastes",
        "l",
        "manifest.json",
        "sw.js",
        "sitemap.xml",
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
    """User input broke a rule; the message says which and how to fix it."""


def validate_slug(slug: str) -> str:
    if not SLUG_PATTERN.fullmatch(slug):
        raise InvalidInputError("slug must be 3-64 characters of A-Z, a-z, 0-9, '_' and '-'")
    if slug.lower() in RESERVED_SLUGS:
        raise InvalidInputError(f"slug {slug!r} is reserved; choose another")
    return slug


def normalize_target_url(raw: str, *, refused_hosts: Collection[str]) -> str:
    """Check a link target and return its canonical form (lower-case scheme, punycode host).

    `refused_hosts` are Spito's own host names (lower case): a link to Spito itself would
    make redirect loops and disguise where a link really goes.
    """
    if len(raw) > MAX_URL_LENGTH:
        raise InvalidInputError(f"url must be at most {MAX_URL_LENGTH} characters")
    if not _is_valid_unicode(raw):
        raise InvalidInputError("url must be valid Unicode text")
    if any(character.isspace() or unicodedata.category(character) == "Cc" for character in raw):
        raise InvalidInputError("url must not contain whitespace or control characters")
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as error:
        raise InvalidInputError(f"url is malformed: {error}") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise InvalidInputError("url must start with http:// or https://")
    if "@" in parts.netloc:
        raise InvalidInputError("url must not contain user information (user:password@)")
    if not parts.hostname:
        raise InvalidInputError("url must have a host")
    host = _ascii_host(parts.hostname)
    if host.strip("[]") in refused_hosts or host in refused_hosts:
        raise InvalidInputError("url points at Spito itself; links to Spito are not allowed")
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
        raise InvalidInputError(f"url must be at most {MAX_URL_LENGTH} characters once encoded")
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
            raise InvalidInputError("expires_in 0 (never) is not allowed here")
        return None
    if not minimum <= expires_in <= maximum:
        raise InvalidInputError(f"expires_in must be between {minimum} and {maximum} seconds")
    return expires_in


def validate_syntax(syntax: str | None) -> str:
    if syntax is None:
        return DEFAULT_SYNTAX
    if syntax not in SYNTAXES:
        raise InvalidInputError(f"syntax must be one of: {', '.join(SYNTAXES)}")
    return syntax


def encode_paste(content: str, *, max_bytes: int) -> bytes:
    """The paste's UTF-8 bytes, exactly as given (never trimmed)."""
    if not content:
        raise InvalidInputError("content must not be empty")
    try:
        data = content.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError("content must be valid UTF-8 text") from None
    if len(data) > max_bytes:
        raise TooLargeError(max_bytes)
    return data


def decode_paste(data: bytes, *, max_bytes: int) -> str:
    if len(data) > max_bytes:
        raise TooLargeError(max_bytes)
    if not data:
        raise InvalidInputError("content must not be empty")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError("content must be valid UTF-8 text") from None


class TooLargeError(ValueError):
    """Content is over the configured maximum number of bytes."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"content must be at most {max_bytes} bytes")
        self.max_bytes = max_bytes


def _is_valid_unicode(text: str) -> bool:
    """False for strings holding lone surrogates, which JSON escapes can smuggle in."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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
        raise InvalidInputError(f"url host is not a valid domain name: {error}") from None
    if not all(_HOSTNAME_LABEL.fullmatch(label) for label in ascii_name.split(".")):
        raise InvalidInputError("url host is not a valid domain name")
    return ascii_name


def _percent_encode_non_ascii(text: str) -> str:
    return "".join(
        character if ord(character) < 128 else "".join(f"%{b:02X}" for b in character.encode())
        for character in text
    )
