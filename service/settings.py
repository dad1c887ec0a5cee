"""Every setting of the service, read once from environment variables and validated up front.

The same names are used by `make dev`, the tests and the EC2 user data. A bad value stops the
process at start with a message that names the variable and says how to fix it, instead of
failing on the first request.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")

KIB = 1024
MIB = 1024 * KIB
MINUTE = 60
DAY = 24 * 60 * MINUTE
YEAR = 365 * DAY

# Pastes up to this size live inline in the table item: DynamoDB items are capped at 400 KB,
# and small items keep reads to one request.
DYNAMODB_INLINE_CEILING_BYTES = 64 * KIB
# The load balancer and deploys give an instance at most this long to drain.
MAX_DRAIN_SECONDS = 30
# Cached redirects must honour deletes and expiry within this bound.
MAX_CACHE_TTL_SECONDS = 30.0
MAX_PARAMETER_NAME = 1011  # Parameter Store's limit for a name with its hierarchy


class SettingsError(ValueError):
    """One or more environment variables are missing or invalid; the message lists every one."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    """The service's configuration. Build it with `Settings.from_env()`."""

    # Listening
    bind_host: str
    port: int
    workers: int
    # Storage
    table: str
    bucket: str
    aws_region: str
    dynamodb_endpoint: str | None
    s3_endpoint: str | None
    storage_timeout_seconds: float
    storage_max_attempts: int
    # Public identity
    public_url: str | None
    public_hosts: frozenset[str]
    public_hosts_parameter: str | None
    public_hosts_refresh_seconds: float
    ssm_endpoint: str | None
    client_ip_position: int
    # Pastes
    paste_max_bytes: int
    paste_inline_max_bytes: int
    # Expiry
    expires_min_seconds: int
    expires_max_seconds: int
    link_expires_default_seconds: int
    paste_expires_default_seconds: int
    allow_never_expire: bool
    # Creation rate limit (token bucket per client)
    rate_limit_per_minute: float
    rate_limit_burst: int
    # Hot path and background work
    cache_ttl_seconds: float
    cache_max_entries: int
    click_flush_seconds: float
    click_retention_days: int
    # Abuse
    report_hold_threshold: int
    blocklist_refresh_seconds: float
    drain_seconds: int
    keep_alive_seconds: int
    log_level: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every setting; raise SettingsError listing all problems at once."""
        reader = _Reader(os.environ if environ is None else environ)
        settings = cls(
            bind_host=reader.get("SPITO_BIND_HOST", str, "127.0.0.1", "an address like 0.0.0.0"),
            port=reader.get("PORT", _int_between(1, 65535), 8080, "a TCP port 1-65535"),
            workers=reader.get("SPITO_WORKERS", _int_between(1, 64), 1, "a process count 1-64"),
            table=reader.required("SPITO_TABLE", _name, "the DynamoDB table name"),
            bucket=reader.required("SPITO_BUCKET", _name, "the S3 bucket for large pastes"),
            aws_region=reader.get("AWS_REGION", _name, "us-east-1", "a region like eu-west-1"),
            dynamodb_endpoint=reader.get(
                "SPITO_DYNAMODB_ENDPOINT", _http_url, None, "http://127.0.0.1:PORT (local only)"
            ),
            s3_endpoint=reader.get(
                "SPITO_S3_ENDPOINT", _http_url, None, "http://127.0.0.1:PORT (local only)"
            ),
            storage_timeout_seconds=reader.get(
                "SPITO_STORAGE_TIMEOUT_SECONDS", _float_between(0.1, 30), 2.0, "seconds 0.1-30"
            ),
            storage_max_attempts=reader.get(
                "SPITO_STORAGE_MAX_ATTEMPTS", _int_between(1, 10), 2, "an attempt count 1-10"
            ),
            public_url=reader.get(
                "SPITO_PUBLIC_URL", _public_url, None, "an origin like https://spito.example.com"
            ),
            public_hosts=reader.get(
                "SPITO_PUBLIC_HOSTS", host_set, frozenset(), "host names separated by commas"
            ),
            # More of Spito's own names, which only exist once deployed (the distribution's),
            # read from this SSM parameter at start and then periodically (infra/public_hosts.py).
            public_hosts_parameter=reader.get(
                "SPITO_PUBLIC_HOSTS_PARAMETER",
                _parameter_name,
                None,
                "an SSM parameter name like /spito/prod/public-hosts",
            ),
            public_hosts_refresh_seconds=reader.get(
                "SPITO_PUBLIC_HOSTS_REFRESH_SECONDS",
                _float_between(0.1, 3600),
                300.0,
                "seconds 0.1-3600",
            ),
            ssm_endpoint=reader.get(
                "SPITO_SSM_ENDPOINT", _http_url, None, "http://127.0.0.1:PORT (local only)"
            ),
            client_ip_position=reader.get(
                "SPITO_CLIENT_IP_POSITION",
                _int_between(0, 10),
                0,
                "0 to use the peer address, or N (1-10) for the Nth X-Forwarded-For entry from "
                "the right (2 behind CloudFront and the ALB)",
            ),
            paste_max_bytes=reader.get(
                "SPITO_PASTE_MAX_BYTES", _int_between(1, 100 * MIB), 10 * MIB, "bytes 1-104857600"
            ),
            paste_inline_max_bytes=reader.get(
                "SPITO_PASTE_INLINE_MAX_BYTES",
                _int_between(1, DYNAMODB_INLINE_CEILING_BYTES),
                DYNAMODB_INLINE_CEILING_BYTES,
                f"bytes 1-{DYNAMODB_INLINE_CEILING_BYTES}",
            ),
            expires_min_seconds=reader.get(
                "SPITO_EXPIRES_MIN_SECONDS", _int_between(1, 10 * YEAR), MINUTE, "seconds >= 1"
            ),
            expires_max_seconds=reader.get(
                "SPITO_EXPIRES_MAX_SECONDS", _int_between(1, 10 * YEAR), YEAR, "seconds >= 1"
            ),
            link_expires_default_seconds=reader.get(
                "SPITO_LINK_EXPIRES_DEFAULT_SECONDS", _int_between(1, 10 * YEAR), YEAR, "seconds"
            ),
            paste_expires_default_seconds=reader.get(
                "SPITO_PASTE_EXPIRES_DEFAULT_SECONDS",
                _int_between(1, 10 * YEAR),
                7 * DAY,
                "seconds",
            ),
            allow_never_expire=reader.get(
                "SPITO_ALLOW_NEVER_EXPIRE", _bool, False, "true or false"
            ),
            rate_limit_per_minute=reader.get(
                "SPITO_RATE_LIMIT_PER_MINUTE", _float_between(0.01, 1e6), 30.0, "creations/minute"
            ),
            rate_limit_burst=reader.get(
                "SPITO_RATE_LIMIT_BURST", _int_between(1, 1_000_000), 20, "a creation count >= 1"
            ),
            cache_ttl_seconds=reader.get(
                "SPITO_CACHE_TTL_SECONDS",
                _float_between(0, MAX_CACHE_TTL_SECONDS),
                MAX_CACHE_TTL_SECONDS,
                f"seconds 0-{MAX_CACHE_TTL_SECONDS:g} (0 disables the redirect cache)",
            ),
            cache_max_entries=reader.get(
                "SPITO_CACHE_MAX_ENTRIES", _int_between(1, 10_000_000), 100_000, "an entry count"
            ),
            click_flush_seconds=reader.get(
                "SPITO_CLICK_FLUSH_SECONDS", _float_between(0.05, 60), 1.0, "seconds 0.05-60"
            ),
            click_retention_days=reader.get(
                "SPITO_CLICK_RETENTION_DAYS",
                _int_between(1, 366),
                30,
                "days 1-366 of per-day click counts kept with each link",
            ),
            report_hold_threshold=reader.get(
                "SPITO_REPORT_HOLD_THRESHOLD",
                _int_between(1, 1000),
                3,
                "the number of distinct clients (1-1000) whose reports hold an item",
            ),
            blocklist_refresh_seconds=reader.get(
                "SPITO_BLOCKLIST_REFRESH_SECONDS",
                _float_between(0.5, 60),
                30.0,
                "seconds 0.5-60 between checks for a changed domain blocklist",
            ),
            drain_seconds=reader.get(
                "SPITO_DRAIN_SECONDS",
                _int_between(0, MAX_DRAIN_SECONDS),
                MAX_DRAIN_SECONDS,
                f"whole seconds 0-{MAX_DRAIN_SECONDS}",
            ),
            # Longer than the load balancer's idle timeout (the ALB's default is 60 s), so the
            # balancer closes idle connections first and never sends on one the service closed.
            keep_alive_seconds=reader.get(
                "SPITO_KEEP_ALIVE_SECONDS", _int_between(1, 4000), 75, "seconds 1-4000"
            ),
            log_level=reader.get(
                "SPITO_LOG_LEVEL", _choice("DEBUG", "INFO", "WARNING", "ERROR"), "INFO", "INFO"
            ),
        )
        reader.check_relations(settings)
        reader.raise_if_invalid()
        return settings


class _Reader:
    """Collects every problem so one start-up failure reports all bad variables."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self._problems: list[str] = []

    def get(self, name: str, parse: Callable[[str], T], default: T, expected: str) -> T:
        raw = self._environ.get(name, "").strip()
        if not raw:
            return default
        try:
            return parse(raw)
        except ValueError as error:
            self._problems.append(f"{name}={raw!r} is invalid ({error}); set it to {expected}")
            return default

    def required(self, name: str, parse: Callable[[str], str], what: str) -> str:
        if not self._environ.get(name, "").strip():
            self._problems.append(f"{name} is not set; set it to {what}")
            return ""
        return self.get(name, parse, "", what)

    def check_relations(self, settings: Settings) -> None:
        if settings.expires_min_seconds > settings.expires_max_seconds:
            self._problems.append(
                "SPITO_EXPIRES_MIN_SECONDS is greater than SPITO_EXPIRES_MAX_SECONDS; "
                "lower the minimum or raise the maximum"
            )
        for name, value in (
            ("SPITO_LINK_EXPIRES_DEFAULT_SECONDS", settings.link_expires_default_seconds),
            ("SPITO_PASTE_EXPIRES_DEFAULT_SECONDS", settings.paste_expires_default_seconds),
        ):
            if not settings.expires_min_seconds <= value <= settings.expires_max_seconds:
                self._problems.append(
                    f"{name}={value} is outside SPITO_EXPIRES_MIN_SECONDS.."
                    "SPITO_EXPIRES_MAX_SECONDS; set it within those limits"
                )

    def raise_if_invalid(self) -> None:
        if self._problems:
            raise SettingsError("invalid configuration:\n  " + "\n  ".join(self._problems))


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = int(raw)
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return parse


def _float_between(low: float, high: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        value = float(raw)
        if not low <= value <= high:
            raise ValueError(f"must be between {low:g} and {high:g}")
        return value

    return parse


def _bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("not a boolean")


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw.upper() not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return raw.upper()

    return parse


def _name(raw: str) -> str:
    if any(character.isspace() for character in raw):
        raise ValueError("must not contain whitespace")
    return raw


def _http_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("must be an http(s) URL with a host")
    return raw.rstrip("/")


def _public_url(raw: str) -> str:
    url = _http_url(raw)
    if urlsplit(url).path not in {"", "/"}:
        raise ValueError("must be an origin without a path")
    return url


def _parameter_name(raw: str) -> str:
    # Parameter Store's rules for a name in a hierarchy ("Creating Parameter Store parameters").
    if not re.fullmatch(r"(/[A-Za-z0-9_.-]+)+", raw) or len(raw) > MAX_PARAMETER_NAME:
        raise ValueError("must be a path of letters, digits and _.- separated by /")
    return raw


def host_set(raw: str) -> frozenset[str]:
    """Host names separated by commas, in lower case without a trailing dot."""
    hosts = frozenset(host.strip().lower().rstrip(".") for host in raw.split(",") if host.strip())
    if any(not host or "/" in host or any(c.isspace() for c in host) for host in hosts):
        raise ValueError("must be bare host names like spito.example.com")
    return hosts
