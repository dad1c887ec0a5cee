"""The table of paths in routing_cases.json, which every router is tested against."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

CASES_FILE = Path(__file__).with_name("routing_cases.json")


@dataclass(frozen=True, kw_only=True)
class RoutingCase:
    path: str
    origin: str  # "spa" or "api"
    spa_key: str | None = None  # the object the web app serves, for SPA paths


def load_cases() -> list[RoutingCase]:
    return [RoutingCase(**case) for case in json.loads(CASES_FILE.read_text())["cases"]]


ROUTING_CASES = load_cases()
SPA_CASES = [case for case in ROUTING_CASES if case.origin == "spa"]
API_CASES = [case for case in ROUTING_CASES if case.origin == "api"]
