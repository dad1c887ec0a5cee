"""Which redirects are people: link-preview bots and crawlers are told apart by User-Agent.

Link previews (Slack, Discord, WhatsApp, Telegram, X, LinkedIn, Facebook, Mastodon servers)
fetch every shared link, and crawlers follow them; counting those as clicks makes the count
meaningless. The patterns come from `crawler-user-agents` (monperrus/crawler-user-agents on
PyPI, npm and Go): one JSON file of about 1,500 regular expressions, kept up to date by many
contributors, each with the User-Agents it must match, and data only (no code run at import
beyond loading the JSON). `crawlerdetect` (a port of the PHP CrawlerDetect) was the other
candidate; it bundles its own regex engine wrapper and updates less often.

Speed: the list's patterns are nearly all plain strings. Joined into one alternation, Python's
`re` tries each of them at every position of the User-Agent (over a millisecond a string);
the plain strings are merged into a trie-shaped pattern instead, so each position follows one
branch, and the few real regular expressions stay as they are. Each distinct User-Agent is then
classified once and remembered (browsers send few distinct strings), so a click pays one dict
lookup. Only the first `MAX_CLASSIFIED_CHARS` of a User-Agent are read: a client sending a huge
random one cannot make the service spend long on it (at worst it is counted as a person).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from crawleruseragents import CRAWLER_USER_AGENTS_DATA  # type: ignore[import-untyped]
from starlette.types import Scope

MAX_CLASSIFIED_CHARS = 512
# Distinct User-Agents remembered; past this the memory starts again (cheap, and rare).
MAX_REMEMBERED = 20_000
# Link-preview fetchers the list lacks (checked against crawler-user-agents 1.67.0): Bluesky's
# card fetcher and the Fediverse servers other than Mastodon, which fetch every link posted.
EXTRA_PATTERNS = ("Cardyb", "Pleroma", "Akkoma", "Misskey")
# A pattern that is a plain string: characters other than regex syntax, or escaped ones.
_PLAIN = re.compile(r"(?:[^\\.^$*+?{}\[\]|()]|\\[/\-. \\])+")
_UNESCAPE = re.compile(r"\\(.)")


class _Node(dict[str, "_Node"]):
    """A trie node: the next character -> the node after it; "" marks a word's end."""


def _trie_pattern(words: Iterable[str]) -> str:
    """One regex matching any of `words` anywhere, shaped as a trie (a branch per next char)."""
    root = _Node()
    for word in words:
        node = root
        for character in word:
            node = node.setdefault(character, _Node())
        node[""] = _Node()

    def build(node: _Node) -> str:
        # A word ending here already matches: for a search, no longer word needs trying.
        if "" in node:
            return ""
        branches = [
            re.escape(character) + build(child) for character, child in sorted(node.items())
        ]
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return build(root)


def _compile(patterns: Iterable[str]) -> re.Pattern[str]:
    plain: list[str] = []
    regular: list[str] = []
    for pattern in patterns:
        if _PLAIN.fullmatch(pattern):
            plain.append(_UNESCAPE.sub(r"\1", pattern))
        else:
            regular.append(pattern)
    return re.compile("|".join([_trie_pattern(plain), *regular]))


def user_agent(scope: Scope) -> bytes:
    """The request's User-Agent header as sent (b"" without one)."""
    for name, value in scope["headers"]:
        if name == b"user-agent":  # ASGI servers give header names in lower case
            return bytes(value)
    return b""


class BotClassifier:
    """`is_bot(user_agent)`: whether a request with this User-Agent is a bot, not a person.

    A request without a User-Agent is a bot's: every browser sends one.
    """

    def __init__(self, patterns: Iterable[str]) -> None:
        self._pattern = _compile(patterns)
        self._known: dict[bytes, bool] = {b"": True}

    @classmethod
    def maintained(cls) -> BotClassifier:
        """The classifier over crawler-user-agents' list and `EXTRA_PATTERNS`."""
        return cls([*(entry["pattern"] for entry in CRAWLER_USER_AGENTS_DATA), *EXTRA_PATTERNS])

    def is_bot(self, user_agent: bytes) -> bool:
        # Remembered by what is classified, not whole: MAX_REMEMBERED User-Agents of several KB
        # each (one client can send them) would otherwise be hundreds of MB per worker.
        classified = user_agent[:MAX_CLASSIFIED_CHARS]
        known = self._known.get(classified)
        if known is not None:
            return known
        verdict = self._pattern.search(classified.decode("latin-1")) is not None  # header bytes
        if len(self._known) >= MAX_REMEMBERED:
            self._known = {b"": True}
        self._known[classified] = verdict
        return verdict
