"""Click counting off the response path: counts gather in memory and are flushed with ADD.

A redirect only increments a dict entry, keyed by the link and the UTC day of the click: a
person's redirect is a click, a bot's (service/bots.py) or a HEAD is a bot fetch. A background
task flushes the counts every `flush_seconds` with one atomic update per link and day (the
total, the day's counter and the bot fetches together), and once more at shutdown. A count that
fails to flush is kept, with its day, for the next round. A kill -9 loses at most the clicks of
the last interval. No address or other identifier of the visitor is kept, here or in storage.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from service.storage_errors import StorageUnavailableError

log = logging.getLogger("spito.clicks")

# While storage is down pending counts are kept, but never for more than this many link-days.
MAX_PENDING_LINKS = 100_000
SECONDS_PER_DAY = 86_400
_Key = tuple[str, int]  # (link id, UTC day number since the epoch)


@dataclass(frozen=True, kw_only=True)
class DayCounts:
    """What one flush adds to one link: its clicks and bot fetches of one UTC day."""

    link_id: str
    day: str  # "YYYY-MM-DD", UTC
    clicks: int
    bot_fetches: int
    forget_before: str  # the oldest day kept: the link's per-day counters before it go


def utc_day(day_number: int) -> str:
    return (datetime.date(1970, 1, 1) + datetime.timedelta(days=day_number)).isoformat()


def days_kept(retention_days: int, now: float | None = None) -> tuple[str, str]:
    """(first, last) UTC day of the last `retention_days` days, today included."""
    today = int((time.time() if now is None else now) // SECONDS_PER_DAY)
    return utc_day(today - retention_days + 1), utc_day(today)


def clicks_by_day(counts: dict[str, int], *, retention_days: int) -> list[dict[str, object]]:
    """The API's `clicks_by_day`: the kept days with clicks, oldest first."""
    first, last = days_kept(retention_days)
    return [
        {"date": day, "clicks": clicks}
        for day, clicks in sorted(counts.items())
        if first <= day <= last and clicks > 0
    ]


class ClickCounter:
    def __init__(
        self,
        add: Callable[[DayCounts], None],
        *,
        is_bot: Callable[[bytes], bool],
        retention_days: int,
    ) -> None:
        self._add = add
        self._is_bot = is_bot
        self._retention_days = retention_days
        self._clicks: dict[_Key, int] = {}
        self._bot_fetches: dict[_Key, int] = {}

    def count(self, link_id: str, user_agent: bytes) -> None:
        """A GET followed the link: a click if a person's, a bot fetch if a bot's."""
        if self._is_bot(user_agent):
            self.bot_fetch(link_id)
            return
        key = (link_id, int(time.time() // SECONDS_PER_DAY))
        self._clicks[key] = self._clicks.get(key, 0) + 1

    def bot_fetch(self, link_id: str) -> None:
        """A bot, a link preview or a HEAD request fetched the link."""
        key = (link_id, int(time.time() // SECONDS_PER_DAY))
        self._bot_fetches[key] = self._bot_fetches.get(key, 0) + 1

    async def flush(self) -> None:
        clicks, self._clicks = self._clicks, {}
        bot_fetches, self._bot_fetches = self._bot_fetches, {}
        forget_before = days_kept(self._retention_days)[0]
        unflushed = iter([*clicks.keys(), *(key for key in bot_fetches if key not in clicks)])
        for key in unflushed:
            counts = DayCounts(
                link_id=key[0],
                day=utc_day(key[1]),
                clicks=clicks.get(key, 0),
                bot_fetches=bot_fetches.get(key, 0),
                forget_before=forget_before,
            )
            try:
                await asyncio.to_thread(self._add, counts)
            except StorageUnavailableError as error:
                # Storage is down: keep this count and the rest for the next round.
                log.warning("click flush deferred: %s", error)
                for kept in (key, *unflushed):
                    self._keep(kept, clicks.get(kept, 0), bot_fetches.get(kept, 0))

    def _keep(self, key: _Key, clicks: int, bot_fetches: int) -> None:
        known = key in self._clicks or key in self._bot_fetches
        if not known and len(self._clicks) + len(self._bot_fetches) >= MAX_PENDING_LINKS:
            return
        if clicks:
            self._clicks[key] = self._clicks.get(key, 0) + clicks
        if bot_fetches:
            self._bot_fetches[key] = self._bot_fetches.get(key, 0) + bot_fetches

    async def run(self, flush_seconds: float) -> None:
        """Flush periodically until cancelled."""
        while True:
            await asyncio.sleep(flush_seconds)
            await self.flush()
