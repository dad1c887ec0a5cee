"""Reading IAM policy documents in templates: who a statement allows to do what."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from fnmatch import fnmatchcase

from .model import Json, as_list


def statements(document: Json) -> Iterator[Mapping[str, Json]]:
    if isinstance(document, Mapping):
        for statement in as_list(document.get("Statement")):
            if isinstance(statement, Mapping):
                yield statement


def allows_service(document: Json, service: str, actions: tuple[str, ...]) -> bool:
    """Whether one Allow statement gives the `service` principal every one of `actions`."""
    for statement in statements(document):
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        if not isinstance(principal, Mapping) or service not in as_list(principal.get("Service")):
            continue
        patterns = [str(action).lower() for action in as_list(statement.get("Action"))]
        if all(any(fnmatchcase(a.lower(), p) for p in patterns) for a in actions):
            return True
    return False


def aws_principals(statement: Mapping[str, Json]) -> list[Json]:
    """The `AWS` principals of a statement (ARNs, account ids or intrinsic functions)."""
    principal = statement.get("Principal")
    if isinstance(principal, Mapping):
        return as_list(principal.get("AWS"))
    return []
