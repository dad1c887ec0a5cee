"""Relative links and #anchors in Markdown pages, resolved as GitHub resolves them.

Pages are parsed with markdown-it-py (CommonMark plus tables), so a link inside a code span or a
fenced block is not taken for one and reference-style links are resolved. A relative link must
name a file or folder of the repository (`/...` from its root, anything else from the page's
folder); its #anchor, when it points into a Markdown page, must be a heading of that page. Links
with a scheme (https:, mailto:) are not followed, and anchors into other files (`#L10` of a
source file) are not checked.

Used by tests/docs/test_links.py, which `make test` runs over README.md and docs/*.md.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from urllib.parse import unquote, urlsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token

_PARSER = MarkdownIt("commonmark").enable("table")
_HTML_TARGET = re.compile(r"""\b(?:href|src)\s*=\s*["']([^"']+)["']""")


@dataclass(frozen=True)
class BrokenLink:
    """A link on `page` (line `line`) whose target or anchor does not exist."""

    page: Path
    line: int
    target: str
    reason: str

    def __str__(self) -> str:
        return f"{self.page}:{self.line}: {self.target}: {self.reason}"


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading whose text is `heading` (github-slugger's rules).

    Lower case; letters, digits, marks, `-` and `_` are kept, each space becomes `-`, every
    other character (punctuation, symbols such as an arrow) is dropped. Nothing is collapsed:
    `a → b` is `a--b`.
    """
    kept = []
    for character in heading.lower():
        if character == " ":
            kept.append("-")
        elif character in "-_" or unicodedata.category(character)[0] in "LNM":
            kept.append(character)
    return "".join(kept)


def anchors(markdown: str) -> set[str]:
    """Every heading's anchor; a repeated slug gets `-1`, `-2`... as on GitHub."""
    seen: dict[str, int] = {}
    found = set()
    tokens = _PARSER.parse(markdown)
    for opening, inline in pairwise(tokens):
        if opening.type != "heading_open":
            continue
        base = slug(_text(inline))
        anchor = base
        while anchor in seen:
            seen[base] += 1
            anchor = f"{base}-{seen[base]}"
        seen[anchor] = 0
        found.add(anchor)
    return found


def links(markdown: str) -> Iterator[tuple[int, str]]:
    """(line, target) of every link and image of the page, raw HTML's href/src included."""
    for token in _PARSER.parse(markdown):
        line = token.map[0] + 1 if token.map else 0
        if token.type in {"html_block", "html_inline"}:
            yield from ((line, target) for target in _HTML_TARGET.findall(token.content))
        for child in token.children or ():
            if child.type == "link_open":
                yield line, str(child.attrs["href"])
            elif child.type == "image":
                yield line, str(child.attrs["src"])
            elif child.type == "html_inline":
                yield from ((line, target) for target in _HTML_TARGET.findall(child.content))


def broken_links(pages: Iterable[Path], *, root: Path) -> list[BrokenLink]:
    """The relative links of `pages` (files under `root`) that do not resolve."""
    root = root.resolve()
    anchors_of: dict[Path, set[str]] = {}
    broken = []
    for page in pages:
        page = page.resolve()
        for line, target in links(page.read_text()):
            reason = _unresolved(page, target, root, anchors_of)
            if reason:
                broken.append(BrokenLink(page.relative_to(root), line, target, reason))
    return broken


def _unresolved(page: Path, target: str, root: Path, anchors_of: dict[Path, set[str]]) -> str:
    """Why `target`, linked from `page`, does not resolve; empty when it does."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return ""  # another site: not followed
    path = unquote(parts.path)
    if not path:
        destination = page
    elif path.startswith("/"):
        destination = (root / path.lstrip("/")).resolve()
    else:
        destination = (page.parent / path).resolve()
    if not destination.is_relative_to(root):
        return "points outside the repository"
    if not destination.exists():
        return "no such file or folder"
    if not parts.fragment or destination.suffix.lower() != ".md" or not destination.is_file():
        return ""
    if destination not in anchors_of:
        anchors_of[destination] = anchors(destination.read_text())
    if unquote(parts.fragment) not in anchors_of[destination]:
        return f"no heading with the anchor #{parts.fragment} in {destination.relative_to(root)}"
    return ""


def _text(inline: Token) -> str:
    """A heading's text as GitHub reads it: code spans' content in, markup and HTML tags out."""
    return "".join(
        child.content for child in inline.children or () if child.type in {"text", "code_inline"}
    )
