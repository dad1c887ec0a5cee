"""The domain blocklist as each worker sees it: a set in memory, re-read when it changes.

A link whose host is a blocked domain, or a subdomain of one, is refused at creation (400,
field `url`) and answers 410 at redirect time. The set lives in the table
(service/moderation.py); every `SPITO_BLOCKLIST_REFRESH_SECONDS` (30) a background task reads
the list's version (one GetItem) and, only when it changed, the list itself, then empties the
redirect cache: a
cached redirect was checked against the list when it was cached, so after a change none is
served unchecked. A redirect never waits on storage for the list, and a cached one does no
check at all. A worker that cannot read the list keeps the one it has and tries again later.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
from collections.abc import Callable
from urllib.parse import urlsplit

import idna

from service.moderation import Moderation
from service.storage_errors import StorageUnavailableError

log = logging.getLogger("spito.blocklist")

_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def normalize_domain(raw: str) -> str:
    """A domain (or IP address) as the blocklist keeps it: lower case, punycode, no final dot.

    Raises ValueError with a message saying what is wrong with `raw`.
    """
    text = raw.strip().rstrip(".").strip("[]")
    if not text:
        raise ValueError("a domain is needed, like example.com")
    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        pass
    try:
        name = idna.encode(text, uts46=True).decode("ascii").lower()
    except idna.IDNAError as error:
        raise ValueError(f"{raw!r} is not a domain name ({error})") from None
    if "." not in name or not all(_LABEL.fullmatch(label) for label in name.split(".")):
        raise ValueError(f"{raw!r} is not a domain name like example.com")
    return name


def host_of(url: str) -> str:
    """The host of a stored (already normalized) link target, as the blocklist compares it."""
    return (urlsplit(url).hostname or "").rstrip(".")


def is_blocked(host: str, domains: frozenset[str]) -> bool:
    """Whether `host` is one of `domains` or a subdomain of one."""
    if host in domains:
        return True
    if host[-1:].isdigit() or ":" in host:  # an IP address: no top-level domain ends in a digit
        return False
    labels = host.split(".")
    return any(".".join(labels[start:]) in domains for start in range(1, len(labels) - 1))


class Blocklist:
    def __init__(self, moderation: Moderation, *, on_change: Callable[[], None]) -> None:
        self._moderation = moderation
        self._on_change = on_change
        self._domains: frozenset[str] = frozenset()
        self._version: int | None = None

    def blocks(self, url: str) -> bool:
        return bool(self._domains) and is_blocked(host_of(url), self._domains)

    async def refresh(self) -> None:
        """Re-read the list if its version changed.

        The reads run in a thread; the new list and `on_change` (emptying the redirect cache)
        take effect here, on the event loop. A redirect checks the list and caches itself on
        the loop too, with no await between, so it cannot check the old list and then cache
        itself after the cache was emptied; and the cache's dict is never changed from two
        threads at once.
        """
        version = await asyncio.to_thread(self._moderation.blocklist_version)
        if version == self._version:
            return
        domains = await asyncio.to_thread(self._moderation.blocked_domains)
        self._domains = domains
        self._version = version
        self._on_change()

    async def run(self, refresh_seconds: float) -> None:
        """Refresh now and then every `refresh_seconds` until cancelled."""
        while True:
            try:
                await self.refresh()
            except StorageUnavailableError as error:
                log.warning("blocklist not refreshed: %s", error)
            await asyncio.sleep(refresh_seconds)
