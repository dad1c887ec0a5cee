"""Click counting off the response path: counts gather in memory and are flushed with ADD.

A redirect only increments a dict entry. A background task flushes the counts every
`flush_seconds` with one atomic `ADD` per link, and once more at shutdown. A counter that fails
to flush is kept for the next round. A kill -9 loses at most the clicks of the last interval.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from service.storage_errors import StorageUnavailableError

log = logging.getLogger("spito.clicks")

# While storage is down pending counts are kept, but never for more than this many links.
MAX_PENDING_LINKS = 100_000


class ClickCounter:
    def __init__(self, add_clicks: Callable[[str, int], None]) -> None:
        self._add_clicks = add_clicks
        self._pending: dict[str, int] = {}

    def count(self, link_id: str) -> None:
        self._pending[link_id] = self._pending.get(link_id, 0) + 1

    async def flush(self) -> None:
        batch, self._pending = self._pending, {}
        unflushed = iter(batch.items())
        for link_id, count in unflushed:
            try:
                await asyncio.to_thread(self._add_clicks, link_id, count)
            except StorageUnavailableError as error:
                # Storage is down: keep this count and the rest for the next round.
                log.warning("click flush deferred: %s", error)
                self._keep(link_id, count)
                for later_id, later_count in unflushed:
                    self._keep(later_id, later_count)

    def _keep(self, link_id: str, count: int) -> None:
        if link_id in self._pending or len(self._pending) < MAX_PENDING_LINKS:
            self._pending[link_id] = self._pending.get(link_id, 0) + count

    async def run(self, flush_seconds: float) -> None:
        """Flush periodically until cancelled."""
        while True:
            await asyncio.sleep(flush_seconds)
            await self.flush()
