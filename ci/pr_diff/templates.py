"""Reading synthesized CloudFormation templates: values as a reviewer reads them, construct paths.

`cdk diff` reads the same templates; the report's own analyses (IAM statements, fleet rolls,
exports in use) read them directly where the CLI says too little.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

Template = dict[str, Any]
_SUB_REFERENCE = re.compile(r"\$\{([^}!]+)\}")


def load(path: Path | None) -> Template:
    """The template at `path`, or an empty one for a stack that side does not have."""
    if path is None:
        return {}
    loaded: Template = json.loads(path.read_text())
    return loaded


def resources(template: Template) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = template.get("Resources", {})
    return found


def construct_path(template: Template, logical_id: str) -> str:
    """The resource's construct path without its stack and `/Resource`, as `cdk diff` prints it."""
    metadata = resources(template).get(logical_id, {}).get("Metadata", {})
    path = metadata.get("aws:cdk:path") if isinstance(metadata, dict) else None
    if not isinstance(path, str):
        return logical_id
    return path.split("/", 1)[-1].removesuffix("/Resource")


def render(template: Template, value: Any) -> str:
    """A template value as text: `${Path.Attr}` for references, as `cdk diff` writes them."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ", ".join(render(template, item) for item in value)
    if not isinstance(value, dict) or len(value) != 1:
        return json.dumps(value, sort_keys=True)
    ((function, argument),) = value.items()
    if function == "Ref":
        return "${" + _name(template, str(argument)) + "}"
    if function == "Fn::GetAtt":
        target, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
        return "${" + f"{_name(template, str(target))}.{render(template, attribute)}" + "}"
    if function == "Fn::Join":
        separator, parts = argument
        return str(separator).join(render(template, part) for part in parts)
    if function == "Fn::ImportValue":
        return "${import:" + render(template, argument) + "}"
    if function == "Fn::Sub":
        text = argument[0] if isinstance(argument, list) else argument
        return _SUB_REFERENCE.sub(lambda match: "${" + _name(template, match[1]) + "}", text)
    return json.dumps(value, sort_keys=True)


def referenced_ids(value: Any) -> set[str]:
    """Every logical id a `Ref` or `Fn::GetAtt` in `value` names (pseudo parameters included)."""
    if isinstance(value, list):
        return set().union(*(referenced_ids(item) for item in value))
    if not isinstance(value, dict):
        return set()
    found: set[str] = set()
    for function, argument in value.items():
        if function == "Ref" and isinstance(argument, str):
            found.add(argument)
        elif function == "Fn::GetAtt":
            target = argument[0] if isinstance(argument, list) else str(argument).split(".")[0]
            found.add(str(target))
        else:
            found |= referenced_ids(argument)
    return found


def _name(template: Template, reference: str) -> str:
    logical_id, _, attribute = reference.partition(".")
    if logical_id not in resources(template):
        return reference  # a parameter or a pseudo parameter (AWS::AccountId)
    path = construct_path(template, logical_id)
    return f"{path}.{attribute}" if attribute else path
