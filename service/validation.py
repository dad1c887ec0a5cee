"""Validation of user input: target URLs, slugs, expiry, paste bodies. Pure functions, no I/O.

Every failure raises `InvalidInputError` (or `TooLargeError`) with a message fit to show the
user and the request field it concerns; the HTTP layer turns it into a 400 (413) problem whose
`field` member names that field.
"""

from __future__ import annotations

import codecs
import functools
import ipaddress
import re
import string
import unicodedata
from collections.abc import Collection
from urllib.parse import urlsplit

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
_UTF8_CHECK_BYTES = 1024 * 1024
_HOSTNAME_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_PORT = 65535
# scheme://authority path ?query #fragment (RFC 3986 appendix B, with "//" required).
_URL = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)(?P<path>[^?#]*)"
    r"(?:\?(?P<query>[^#]*))?(?:#(?P<fragment>.*))?",
    re.DOTALL,
)
_PORT = re.compile(r":[0-9]{0,5}")
# The last label of a host name browsers read as an IPv4 address (WHATWG URL, "ends in a number").
_IPV4_NUMBER = re.compile(r"[0-9]+|0x[0-9a-f]*")
# RFC 3986 section 2: what may appear unencoded in a path (pchar and "/"), a query or fragment.
_PATH_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-._~" + "!$&'()*+,;=" + ":@/")
_QUERY_CHARACTERS = _PATH_CHARACTERS | {"?"}
# Unicode categories that show nothing or change how the rest shows: controls, format
# characters (bidi overrides, zero-width joiners), surrogates, private use, unassigned.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
# Addresses no visitor other than the machine itself (or its link) could reach: loopback,
# "this network" and unspecified, link-local, multicast and reserved/broadcast; ::/96 holds
# IPv6's unspecified and loopback addresses and the deprecated IPv4-compatible ones (RFC 4291
# section 2.5.5.1); IPv4-mapped addresses are checked as IPv4. Private ranges (10/8,
# 172.16/12, 192.168/16, fc00::/7) are kept: an intranet link is a legitimate use, and the
# target is never fetched by Spito.
UNREACHABLE_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/96",
        "fe80::/10",
        "ff00::/8",
    )
)


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
    """Check a link target and return its one canonical ASCII form, or refuse it.

    The URL is parsed strictly (RFC 3986, with the host rules browsers apply from the WHATWG
    URL standard) rather than repaired: what another parser could read differently is refused.
    The canonical form has a lower-case scheme, an IDNA (punycode) name or a numeric host, no
    default port, a path of at least "/", and every character outside RFC 3986's sets
    percent-encoded, so it shows the same wherever it is shown and fits a Location header.

    `refused_hosts` are Spito's own host names, in any spelling (compared in the canonical form
    targets get: IDNA, no final dot, IPv4 dotted, IPv6 compressed): a link to Spito itself would
    make redirect loops and disguise where a link really goes. Hosts no other visitor could
    reach are refused too (`UNREACHABLE_NETWORKS`, `localhost`); private ranges are kept.
    """
    if len(raw) > MAX_URL_LENGTH:
        raise InvalidInputError("url", f"must be at most {MAX_URL_LENGTH} characters")
    _utf8("url", raw)
    _refuse_invisible_characters(raw)
    match = _URL.fullmatch(raw)
    if match is None:
        raise InvalidInputError("url", "must start with http:// or https:// and have a host")
    scheme = match["scheme"].lower()
    if scheme not in ALLOWED_SCHEMES:
        raise InvalidInputError("url", "must start with http:// or https://")
    host, port = _authority(match["authority"])
    if host.strip("[]") in _canonical_hosts(frozenset(refused_hosts)):
        raise InvalidInputError("url", "points at Spito itself; links to Spito are not allowed")
    _refuse_unreachable(host)
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    normalized = f"{scheme}://{netloc}{_percent_encoded(match['path'], _PATH_CHARACTERS) or '/'}"
    if match["query"] is not None:
        normalized += "?" + _percent_encoded(match["query"], _QUERY_CHARACTERS)
    if match["fragment"] is not None:
        normalized += "#" + _percent_encoded(match["fragment"], _QUERY_CHARACTERS)
    if len(normalized) > MAX_URL_LENGTH:
        raise InvalidInputError("url", f"must be at most {MAX_URL_LENGTH} characters once encoded")
    return normalized


def is_redirectable(url: str) -> bool:
    """The redirect-time check of a stored target: http(s) and printable ASCII only.

    A target stored before today's rules may break them: such a link answers 404, never a
    Location header that cannot be sent or that shows something else than it is.
    """
    return (
        url.isascii()
        and url.isprintable()
        and " " not in url
        and urlsplit(url).scheme.lower() in ALLOWED_SCHEMES
    )


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


def check_paste_bytes(data: bytes, *, max_bytes: int) -> bytes:
    """The paste's bytes, exactly as sent, once known to be UTF-8 text within the limit.

    Checked a piece at a time, so no text copy of a large paste is ever made.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(_checked_paste(data, max_bytes))
    try:
        for start in range(0, len(view), _UTF8_CHECK_BYTES):
            decoder.decode(view[start : start + _UTF8_CHECK_BYTES])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise InvalidInputError("content", "must be valid UTF-8 text") from None
    return data


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


def _refuse_invisible_characters(raw: str) -> None:
    """Whitespace, controls and invisible characters (bidi overrides, zero-width joiners,
    private-use and unassigned code points) make a URL read as something it is not."""
    for character in raw:
        if character.isspace() or unicodedata.category(character) in _INVISIBLE_CATEGORIES:
            raise InvalidInputError(
                "url",
                f"must not contain whitespace, control or invisible characters "
                f"(found U+{ord(character):04X})",
            )


@functools.lru_cache(maxsize=64)
def _canonical_hosts(hosts: frozenset[str]) -> frozenset[str]:
    """Spito's own names in the form `_authority` gives a target's host (an IPv6 literal without
    brackets), so no spelling of one of them (a final dot, upper case, Unicode, 127.1) slips by;
    a name no target could have is kept as it is. Cached: the same few sets come every time."""
    return frozenset(_canonical_host(host) for host in hosts)


def _canonical_host(host: str) -> str:
    try:
        if ":" in host:
            return _ipv6_host(host.strip("[]")).strip("[]")
        return _name_host(host)
    except InvalidInputError:
        return host


def _authority(authority: str) -> tuple[str, int | None]:
    """The canonical host (an IPv6 literal in brackets) and the port, if any."""
    if "@" in authority:
        raise InvalidInputError("url", "must not contain user information (user:password@)")
    if authority.startswith("["):
        literal, bracket, rest = authority[1:].partition("]")
        if not bracket:
            raise InvalidInputError("url", "has an IPv6 address without its closing ]")
        host = _ipv6_host(literal)
    else:
        name, colon, port_text = authority.partition(":")
        host, rest = _name_host(name), colon + port_text
    if not rest:
        return host, None
    if not _PORT.fullmatch(rest):
        raise InvalidInputError("url", "may only have :port (1-65535) after the host")
    if rest == ":":
        return host, None  # an empty port is the default port (RFC 3986 section 6.2.3)
    port = int(rest[1:])
    if not 1 <= port <= MAX_PORT:
        raise InvalidInputError("url", "port must be 1-65535")
    return host, port


def _ipv6_host(literal: str) -> str:
    if literal[:1] in {"v", "V"}:
        raise InvalidInputError("url", "host must not be an IPvFuture literal ([v1.x])")
    if "%" in literal:
        # A zone id names a network interface of one machine: no one else could follow it.
        raise InvalidInputError("url", "host must not carry an IPv6 zone id (%25...)")
    try:
        address = ipaddress.IPv6Address(literal)
    except ValueError:
        raise InvalidInputError("url", "host is not a valid IPv6 address") from None
    return f"[{address.compressed}]"


def _name_host(name: str) -> str:
    """A host name in ASCII (IDNA, lower case, no trailing dot), or an IPv4 address.

    A name that ends in a number is an IPv4 address to browsers, in any of the spellings
    `inet_aton` takes (127.1, 2130706433, 0x7f.0.0.1, 0177.0.0.1): it is stored dotted-quad.
    """
    if not name:
        raise InvalidInputError("url", "must have a host")
    if "%" in name:
        raise InvalidInputError("url", "host must not be percent-encoded")
    try:
        ascii_name = idna.encode(name.rstrip("."), uts46=True).decode("ascii").lower()
    except idna.IDNAError as error:
        raise InvalidInputError("url", f"host is not a valid domain name: {error}") from None
    labels = ascii_name.split(".")
    if _IPV4_NUMBER.fullmatch(labels[-1]):
        return str(_ipv4_address(labels))
    if not all(_HOSTNAME_LABEL.fullmatch(label) for label in labels):
        raise InvalidInputError("url", "host is not a valid domain name")
    return ascii_name


def _ipv4_address(labels: list[str]) -> ipaddress.IPv4Address:
    """The WHATWG URL standard's IPv4 parser: 1-4 numbers, each decimal, 0x hex or 0 octal."""
    try:
        numbers = [_ipv4_number(label) for label in labels]
    except ValueError:
        numbers = []
    if not 1 <= len(numbers) <= 4 or any(number > 255 for number in numbers[:-1]):
        raise InvalidInputError("url", "host is not a valid IPv4 address")
    if numbers[-1] >= 256 ** (5 - len(numbers)):
        raise InvalidInputError("url", "host is not a valid IPv4 address")
    value = numbers[-1]
    for index, number in enumerate(numbers[:-1]):
        value += number * 256 ** (3 - index)
    return ipaddress.IPv4Address(value)


def _ipv4_number(text: str) -> int:
    if text[:2] in {"0x", "0X"}:
        return int(text[2:] or "0", 16)
    if len(text) > 1 and text.startswith("0"):
        return int(text[1:], 8)
    return int(text, 10)


def _refuse_unreachable(host: str) -> None:
    """Refuse a canonical host that only ever names the visitor's own machine or link."""
    if host == "localhost" or host.endswith(".localhost"):  # RFC 6761 section 6.3
        raise InvalidInputError("url", "host is the visitor's own machine (localhost)")
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return  # a name: never resolved, as the target is never fetched
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in UNREACHABLE_NETWORKS):
        raise InvalidInputError(
            "url",
            f"host {address} is a loopback, unspecified, link-local or multicast address, "
            "which no visitor could reach",
        )


def _percent_encoded(text: str, allowed: frozenset[str]) -> str:
    """`text` with every character outside `allowed` percent-encoded as UTF-8 (upper-case hex).

    A `%` already followed by two hex digits is kept (with its hex upper-cased); any other `%`
    is itself encoded, so encoding twice changes nothing.
    """
    out: list[str] = []
    index = 0
    while index < len(text):
        character = text[index]
        escape = text[index + 1 : index + 3]
        if character == "%" and len(escape) == 2 and all(c in string.hexdigits for c in escape):
            out.append("%" + escape.upper())
            index += 3
            continue
        if character in allowed:
            out.append(character)
        else:
            out.append("".join(f"%{byte:02X}" for byte in character.encode()))
        index += 1
    return "".join(out)
