"""A bounded in-process cache of where links redirect, so the hot path `GET /{id}` skips storage.

Entries live at most the configured TTL (30 s at most) and never past the item's own expiry,
so deletes on other instances and expiry are honoured within that bound.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

# Browsers and shared caches must ask again every time: a link can be deleted or expire.
NO_STORE = "private, no-store, max-age=0"
NO_CACHE = {"Cache-Control": NO_STORE, "Pragma": "no-cache"}
# The cached 302's headers but its Location, as the ASGI server takes them.
_REDIRECT_HEADERS = (
    *((name.lower().encode(), value.encode()) for name, value in NO_CACHE.items()),
    (b"content-length", b"0"),
)


@dataclass(frozen=True, slots=True)
class Redirect:
    headers: tuple[tuple[bytes, bytes], ...]  # the whole 302 header block but the request id
    valid_until: float  # time.monotonic() deadline


class RedirectCache:
    def __init__(self, *, ttl_seconds: float, max_entries: int) -> None:
        self._ttl = ttl_seconds
        self._max_entries = max_entries
        self._entries: dict[str, Redirect] = {}

    def get(self, record_id: str) -> Redirect | None:
        entry = self._entries.get(record_id)
        if entry is None:
            return None
        if entry.valid_until <= time.monotonic():
            del self._entries[record_id]
            return None
        return entry

    def put(self, link_id: str, location: str, *, seconds_left: float | None) -> None:
        lifetime = self._ttl if seconds_left is None else min(self._ttl, seconds_left)
        if lifetime <= 0:
            return
        if len(self._entries) >= self._max_entries:
            # Dicts keep insertion order: drop the oldest entry.
            del self._entries[next(iter(self._entries))]
        self._entries[link_id] = Redirect(
            ((b"location", location.encode("ascii")), *_REDIRECT_HEADERS),
            time.monotonic() + lifetime,
        )

    def forget(self, record_id: str) -> None:
        self._entries.pop(record_id, None)

    def clear(self) -> None:
        """Forget every entry (the blocklist changed: service/blocklist.py)."""
        self._entries.clear()
