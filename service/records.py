"""Links and pastes as the rest of the service sees them, independent of how they are stored."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True)
class Removal:
    """Why an item is no longer served: held after reports, or taken down by an operator."""

    state: str  # "held" or "taken-down"
    reason: str  # shown to visitors: the report reasons, or the operator's words
    at: int  # epoch seconds


@dataclass(frozen=True, kw_only=True)
class Link:
    id: str
    url: str
    created_at: int
    expires_at: int | None
    clicks: int
    delete_token_hash: str
    bot_fetches: int = 0
    # UTC day ("YYYY-MM-DD") -> clicks by people that day, for the days storage still keeps.
    clicks_by_day: dict[str, int] = field(default_factory=dict)
    removal: Removal | None = None


@dataclass(frozen=True, kw_only=True)
class Paste:
    id: str
    syntax: str
    size: int
    created_at: int
    expires_at: int | None
    burn_after_reading: bool
    content: str | None
    blob_key: str | None
    delete_token_hash: str
    removal: Removal | None = None


Record = Link | Paste
