"""What a visitor and a program are told about an item Spito no longer serves (410 Gone).

A held item was reported by several people and waits for an operator; a taken-down item was
removed by one; a blocked link leads to a domain on the blocklist. Held and taken-down items
are kept in the table for the operators and served on no public route: programs get problem
JSON (`urn:spito:problem:held`, `...:taken-down`, `...:blocked`) whose detail says which and
why, and browsers the same words as a page (service/visitor_pages.py asks
`removed_page_text`).
"""

from __future__ import annotations

from service.problems import PROBLEM_TYPE_BASE, Problem
from service.records import Removal

HELD = "held"
TAKEN_DOWN = "taken-down"
BLOCKED = "blocked"
_HEADINGS = {HELD: "held for review", TAKEN_DOWN: "removed", BLOCKED: "blocked"}


def removed_problem(kind: str, removal: Removal) -> Problem:
    """410 problem JSON whose detail a visitor understands: what happened, and why."""
    if removal.state == HELD:
        detail = (
            f"This {kind} was reported by several people ({removal.reason}) and is held "
            "until Spito's operators review it."
        )
    else:
        detail = f"This {kind} was removed by Spito's operators: {removal.reason}."
    return Problem(410, detail, slug=removal.state if removal.state in _HEADINGS else TAKEN_DOWN)


def blocked_problem() -> Problem:
    """410 for a link whose destination's domain is on the blocklist (service/blocklist.py)."""
    return Problem(
        410,
        "This link leads to a site on Spito's blocklist of harmful sites, so Spito no longer "
        "sends anyone there.",
        slug=BLOCKED,
    )


def removed_page_text(problem: dict[str, object]) -> tuple[str, tuple[str, ...]] | None:
    """The heading and sentences of a page for a removed-item problem, else None."""
    problem_type = str(problem.get("type", ""))
    state = problem_type.removeprefix(PROBLEM_TYPE_BASE)
    if not problem_type.startswith(PROBLEM_TYPE_BASE) or state not in _HEADINGS:
        return None
    kept = (
        "Spito does not say where it led."
        if state == BLOCKED
        else "Its content is kept for Spito's operators and is not shown to anyone."
    )
    return f"This link or paste is {_HEADINGS[state]}", (str(problem.get("detail", "")), kept)
