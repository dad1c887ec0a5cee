"""Blocklist files as operators download them, read into domains for `spito-admin blocklist`.

- `hosts`: a hosts file or a plain list, one entry a line: `0.0.0.0 bad.example`, or just
  `bad.example`; `#` starts a comment; the loopback and placeholder names such lists start
  with (`localhost`, `broadcasthost`, ...) are skipped.
- `urlhaus`: abuse.ch URLhaus's CSV of malware URLs (`# ` comment lines, then quoted rows
  `id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter`); the host of
  each row's URL is taken. URLhaus lists URLs, and some live on shared hosts (code and file
  hosting sites): the import says which domains carry the most URLs, so an operator sees such
  a host before it is blocked, and can unblock it.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

from service.blocklist import normalize_domain

FORMATS = ("hosts", "urlhaus")
_PLACEHOLDERS = frozenset(
    {
        "localhost",
        "localhost.localdomain",
        "local",
        "broadcasthost",
        "ip6-localhost",
        "ip6-loopback",
        "ip6-localnet",
        "ip6-mcastprefix",
        "ip6-allnodes",
        "ip6-allrouters",
        "ip6-allhosts",
        "0.0.0.0",  # noqa: S104 - a name hosts files list, never an address bound to
        "127.0.0.1",
        "::1",
    }
)
_URLHAUS_URL_COLUMN = 2


@dataclass(frozen=True)
class Feed:
    domains: frozenset[str]
    skipped: int  # entries that are not domains (reported, not fatal)
    busiest: list[tuple[str, int]]  # the domains with the most entries, most first


def parse(text: str, feed_format: str) -> Feed:
    names = _hosts_names(text) if feed_format == "hosts" else _urlhaus_hosts(text)
    counts: Counter[str] = Counter()
    skipped = 0
    for name in names:
        if name.lower() in _PLACEHOLDERS:
            continue
        try:
            counts[normalize_domain(name)] += 1
        except ValueError:
            skipped += 1
    return Feed(frozenset(counts), skipped, counts.most_common(5))


def _hosts_names(text: str) -> list[str]:
    names: list[str] = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        # "ADDRESS name [aliases]" or a bare name.
        names.extend(fields[1:] if len(fields) > 1 else fields)
    return names


def _urlhaus_hosts(text: str) -> list[str]:
    rows = csv.reader(line for line in io.StringIO(text) if not line.startswith("#"))
    hosts: list[str] = []
    for row in rows:
        if len(row) <= _URLHAUS_URL_COLUMN:
            continue
        try:
            host = urlsplit(row[_URLHAUS_URL_COLUMN].strip()).hostname
        except ValueError:
            host = None
        hosts.append(host or row[_URLHAUS_URL_COLUMN])
    return hosts
