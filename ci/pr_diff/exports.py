"""Deploys CloudFormation will refuse: an export another stack imports, changed or removed.

"After another stack imports an output value, you can't delete the stack that is exporting the
output value or modify the exported output value. All the imports must be removed before you
can delete the exporting stack or modify the output value."
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-importvalue.html)

The importers that count are the base's (what is deployed): the exporting stack deploys first,
since its importers depend on it, and fails with "Export ... cannot be updated as it is in use
by ...". An export's value changes when the resource it refers to is replaced (a new table has a
new name and ARN) or when its expression changes; it goes when the output or its stack goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ci.pr_diff.cdk_diff import StackDiff
from ci.pr_diff.templates import Template, construct_path, referenced_ids, render


@dataclass(frozen=True)
class ExportInUse:
    """An export the deploy changes or removes while other stacks import it."""

    stack: str
    export: str
    importers: tuple[str, ...]
    reason: str  # why the export changes, e.g. "it refers to `Table`, which is replaced"
    removed: bool  # the export goes (rather than changes value)

    @property
    def summary(self) -> str:
        importers = ", ".join(f"`{name}`" for name in self.importers)
        verb = "deleted" if self.removed else "updated"
        return (
            f"**The deploy will fail:** `{self.stack}` export `{self.export}` "
            f"{'is removed' if self.removed else 'changes'} ({self.reason}), and {importers} "
            f'import(s) it: CloudFormation stops with "Export {self.export} cannot be {verb} as '
            f'it is in use by {self.importers[0]}". Deploy in two steps: first the importing '
            "stacks without the import (keep the export meanwhile with `Stack.export_value`), "
            "then this change."
        )


def exports_in_use(
    base: dict[str, Template], head: dict[str, Template], diffs: list[StackDiff]
) -> list[ExportInUse]:
    """Each export of a base stack that other base stacks import and this change breaks."""
    importers = _importers(base)
    replaced = {
        (diff.stack, change.logical_id)
        for diff in diffs
        for change in diff.resources
        if change.replaced or change.action == "remove"
    }
    found = []
    for stack, template in sorted(base.items()):
        after = _exports(stack, head[stack]) if stack in head else {}
        for name, value in sorted(_exports(stack, template).items()):
            users = tuple(sorted(importers.get(name, set()) - {stack}))
            if not users:
                continue
            if name not in after:
                gone = "its output is gone" if stack in head else "its stack is gone"
                found.append(ExportInUse(stack, name, users, gone, removed=True))
                continue
            reason = _why_it_changes(stack, template, value, after[name], replaced)
            if reason:
                found.append(ExportInUse(stack, name, users, reason, removed=False))
    return found


def _why_it_changes(
    stack: str, template: Template, before: Any, after: Any, replaced: set[tuple[str, str]]
) -> str:
    """Why the export's value changes; "" when it stays as it is."""
    gone = sorted(
        logical_id for logical_id in referenced_ids(before) if (stack, logical_id) in replaced
    )
    if gone:
        names = ", ".join(f"`{construct_path(template, logical_id)}`" for logical_id in gone)
        return f"it refers to {names}, which is replaced or removed"
    if before != after:
        return "its value is a new expression"
    return ""


def _exports(stack: str, template: Template) -> dict[str, Any]:
    """Export name -> the output's value expression."""
    found = {}
    for output in template.get("Outputs", {}).values():
        export = output.get("Export")
        if isinstance(export, dict) and "Name" in export:
            name = render(template, export["Name"]).replace("${AWS::StackName}", stack)
            found[name] = output.get("Value")
    return found


def _importers(templates: dict[str, Template]) -> dict[str, set[str]]:
    """Export name -> the stacks whose template imports it."""
    found: dict[str, set[str]] = {}
    for stack, template in templates.items():
        for name in _imports(template, template):
            found.setdefault(name, set()).add(stack)
    return found


def _imports(template: Template, value: Any) -> set[str]:
    if isinstance(value, list):
        return set().union(*(_imports(template, item) for item in value))
    if not isinstance(value, dict):
        return set()
    found: set[str] = set()
    for function, argument in value.items():
        if function == "Fn::ImportValue":
            found.add(render(template, argument))
        else:
            found |= _imports(template, argument)
    return found
