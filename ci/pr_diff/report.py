"""Renders the diff and the checks as the Markdown of the pull-request comment.

Used by `make diff` (ci/pr_diff/__main__.py); ci/pr_comment.py finds its marker line.
"""

from __future__ import annotations

from dataclasses import dataclass

from ci.pr_diff.cdk_diff import ResourceChange, StackDiff, Table
from ci.pr_diff.checks import CheckResult
from ci.pr_diff.exports import ExportInUse
from ci.pr_diff.iam import IamChange
from ci.pr_diff.suppressions import Suppression, SuppressionChanges

# The pull-request workflow finds its own comment by this line and edits it.
MARKER = "<!-- spito-pr-diff -->"
NO_CHANGES = "**No infrastructure changes.**"
NO_REASON = "**no reason given**"
# GitHub caps a comment at 65,536 characters; keep each stack's raw diff well under that.
RAW_DIFF_LIMIT = 12_000
FINDINGS_LIMIT = 40
_SIGNS = {"+": "added", "-": "removed"}


@dataclass(frozen=True)
class Report:
    """Everything the comment shows."""

    base_label: str
    head_label: str
    stages: list[str]  # synthesized, in cdk.json's order; empty for an app without stages
    only_stage: str | None  # the one stage `STAGE=` asked for
    diffs: list[StackDiff]
    exports_in_use: list[ExportInUse]
    warnings: list[str]
    head_ok: bool
    checks: list[CheckResult]
    suppressions: SuppressionChanges

    @property
    def changed(self) -> list[StackDiff]:
        return [diff for diff in self.diffs if diff.changed]

    @property
    def passed(self) -> bool:
        """The head synthesizes, every check passes and no deploy is known to fail."""
        checks_pass = all(check.passed for check in self.checks)
        return self.head_ok and checks_pass and not self.exports_in_use


def render(report: Report) -> str:
    """The whole comment, starting with the marker line."""
    reproduce = f"make diff BASE={report.base_label}"
    if report.only_stage:
        reproduce += f" STAGE={report.only_stage}"
    parts = [
        MARKER,
        f"## Infrastructure diff: `{report.base_label}` → `{report.head_label}`"
        + _stages_title(report.stages),
        *_warnings(report.warnings),
        *_data_loss_alert(report.changed),
        _exports_alert(report.exports_in_use),
        _rolls_alert(report.changed),
        *_stage_sections(report),
        _suppressions_section(report.suppressions),
        _checks_section(report.checks),
        f"<sub>Reproduce locally: `{reproduce}`</sub>",
    ]
    return "\n\n".join(part for part in parts if part) + "\n"


def _stages_title(stages: list[str]) -> str:
    if not stages:
        return ""
    names = ", ".join(f"`{stage}`" for stage in stages)
    return f" (stage {names})" if len(stages) == 1 else f" (stages {names})"


def _exports_alert(exports: list[ExportInUse]) -> str:
    if not exports:
        return ""
    return "> [!CAUTION]\n" + "\n".join(f"> - {export.summary}" for export in exports)


def _rolls_alert(diffs: list[StackDiff]) -> str:
    lines = [
        f"> - {_stage_prefix(diff)}`{diff.stack}`: {roll.summary}"
        for diff in diffs
        for roll in diff.rolls
    ]
    return "> [!IMPORTANT]\n" + "\n".join(lines) if lines else ""


def _stage_counts(report: Report) -> str:
    counts = [
        f"`{stage}` ({sum(diff.stage == stage for diff in report.diffs)})"
        for stage in report.stages
    ]
    return f" Stacks per stage: {', '.join(counts)}." if report.diffs and counts else ""


def _stage_prefix(diff: StackDiff) -> str:
    return f"stage `{diff.stage}` · " if diff.stage else ""


def _stage_sections(report: Report) -> list[str]:
    """One section per stage with changes, one line per stage without; flat for no stages."""
    if not report.changed:
        return [_overview(report, report.diffs, heading="") + _stage_counts(report)]
    tags = [diff.stage for diff in report.diffs]
    order: list[str | None] = [*report.stages]
    order += [tag for tag in dict.fromkeys(tags) if tag not in order]
    sections = []
    for stage in order:
        diffs = [diff for diff in report.diffs if diff.stage == stage]
        if not diffs:
            continue  # no stack of the head was told to be this stage's: nothing to say
        if stage is None:
            sections.append(_overview(report, diffs, heading=""))
            sections += [_stack_section(diff, "###") for diff in diffs if diff.changed]
        elif not any(diff.changed for diff in diffs):
            sections.append(
                f"**Stage `{stage}`: no infrastructure changes** ({len(diffs)} stack(s) compared)."
            )
        else:
            sections.append(_overview(report, diffs, heading=f"### Stage `{stage}`"))
            sections += [_stack_section(diff, "####") for diff in diffs if diff.changed]
    return [section for section in sections if section]


def _warnings(warnings: list[str]) -> list[str]:
    return [f"> [!WARNING]\n> {_quote(warning)}" for warning in warnings]


def _data_loss_alert(diffs: list[StackDiff]) -> list[str]:
    losses = [(diff.stack, change) for diff in diffs for change in diff.resources]
    losses = [(stack, change) for stack, change in losses if change.loses_data]
    if not losses:
        return []
    lines = [
        "> [!CAUTION]",
        "> **Stateful resources will be replaced or deleted: their data is lost.**",
    ]
    lines += [
        f"> - `{stack}` · `{change.resource_type}` `{change.path}` ({change.logical_id}): "
        f"**{change.impact}**{_replacement_causes(change)}"
        for stack, change in losses
    ]
    return ["\n".join(lines)]


def _replacement_causes(change: ResourceChange) -> str:
    causes = [prop for prop in change.properties if "replacement)" in prop]
    return f" because of {', '.join(causes)}" if causes else ""


def _overview(report: Report, diffs: list[StackDiff], *, heading: str) -> str:
    changed = [diff for diff in diffs if diff.changed]
    unchanged = [diff.stack for diff in diffs if not diff.changed]
    if not report.diffs and not report.head_ok:
        return "**No diff: the head did not synthesize** (see above)."
    if not changed:
        return f"{NO_CHANGES} {len(diffs)} stack(s) compared, none changed." if diffs else ""
    rows = [
        [
            _stack_name(diff),
            *(str(count) for count in _counts(diff.resources)),
            "yes" if diff.iam else "",
            "yes" if diff.security_groups else "",
        ]
        for diff in changed
    ]
    header = ["Stack", "Added", "Modified", "Replaced", "Removed", "IAM", "Security groups"]
    text = f"**{len(changed)} of {len(diffs)} stack(s) changed.**"
    if unchanged:
        text += " Unchanged: " + ", ".join(f"`{name}`" for name in unchanged) + "."
    parts = [heading, text, _table(header, rows)]
    return "\n\n".join(part for part in parts if part)


def _stack_name(diff: StackDiff) -> str:
    return f"`{diff.stack}` ({diff.note})" if diff.note else f"`{diff.stack}`"


def _counts(resources: list[ResourceChange]) -> tuple[int, int, int, int]:
    added = sum(change.action == "add" for change in resources)
    removed = sum(change.action == "remove" for change in resources)
    replaced = sum(change.action == "modify" and change.replaced for change in resources)
    modified = sum(change.action == "modify" and not change.replaced for change in resources)
    return added, modified, replaced, removed


def _stack_section(diff: StackDiff, level: str) -> str:
    parts = [f"{level} {_stack_name(diff)}"]
    if diff.resources:
        header = ["Change", "Resource", "Type", "Logical ID", "Changed properties"]
        parts.append(_table(header, [_resource_row(change) for change in diff.resources]))
    if diff.iam:
        header = ["Change", "Policy", "Principal", "Effect", "Actions", "Resources", "Condition"]
        rows = [_iam_row(change) for change in diff.iam]
        parts.append("**IAM changes**\n\n" + _table(header, rows))
    parts += [_change_table(table) for table in diff.security_groups]
    parts.append(_raw_details(diff))
    return "\n\n".join(parts)


def _iam_row(change: IamChange) -> list[str]:
    grant = change.grant
    actions = "\n".join(change.actions)
    if grant.action_kind == "NotAction":
        actions = f"every action except:\n{actions}"
    return [
        change.change,
        grant.policy,
        grant.principal,
        grant.effect,
        actions,
        grant.resources,
        grant.condition,
    ]


def _resource_row(change: ResourceChange) -> list[str]:
    verb = {"add": "added", "remove": "removed", "modify": "modified"}[change.action]
    if change.replaced or change.impact == "destroy":
        verb = f"**{change.impact}**"
    elif change.impact:
        verb = f"{verb} ({change.impact})"
    if change.loses_data:
        verb = f"🛑 {verb}, stateful"
    return [
        verb,
        f"`{change.path}`",
        f"`{change.resource_type}`",
        change.logical_id,
        "<br>".join(change.properties),
    ]


def _change_table(table: Table) -> str:
    rows = [[_SIGNS.get(row[0], row[0]), *row[1:]] for row in table.rows]
    return f"**{table.title}**\n\n" + _table(["Change", *table.header[1:]], rows)


def _raw_details(diff: StackDiff) -> str:
    raw = diff.raw
    if len(raw) > RAW_DIFF_LIMIT:
        raw = raw[:RAW_DIFF_LIMIT] + "\n… (cut: run `make diff` for the rest)"
    return (
        f"<details><summary>Full <code>cdk diff {diff.stack}</code></summary>\n\n"
        f"```text\n{raw}\n```\n\n</details>"
    )


def _suppressions_section(changes: SuppressionChanges) -> str:
    if not (changes.added or changes.removed or changes.reworded):
        return ""
    rows = [["added", *_suppression_cells(item)] for item in changes.added]
    rows += [["removed", *_suppression_cells(item)] for item in changes.removed]
    rows += [
        [
            "reason changed",
            *_suppression_cells(after)[:3],
            f"{_reason(after)}\n(was: {_reason(before)})",
        ]
        for before, after in changes.reworded
    ]
    heading = "### Silenced findings changed"
    to_check = []
    if changes.added:
        to_check.append(f"{len(changes.added)} finding(s) newly silenced")
    if changes.reworded:
        to_check.append(f"{len(changes.reworded)} silenced finding(s) with a new reason")
    if to_check:
        heading += f"\n\n**{' and '.join(to_check)}: check each reason.**"
    return heading + "\n\n" + _table(["Change", "Tool", "Rule", "Where", "Reason"], rows)


def _suppression_cells(item: Suppression) -> list[str]:
    return [item.tool, f"`{item.rule}`", f"`{item.where}`", _reason(item)]


def _reason(item: Suppression) -> str:
    return item.reason or NO_REASON


def _checks_section(checks: list[CheckResult]) -> str:
    if not checks:
        return ""
    rows = [
        [check.name, "✅ pass" if check.passed else "❌ fail", check.summary] for check in checks
    ]
    parts = ["### Checks on the head", _table(["Check", "Result", "Summary"], rows)]
    for check in checks:
        if check.findings:
            shown = check.findings[:FINDINGS_LIMIT]
            more = len(check.findings) - len(shown)
            items = "\n".join(f"- {finding}" for finding in shown)
            if more:
                items += f"\n- … and {more} more"
            parts.append(
                f"<details><summary>{check.name}: {len(check.findings)} finding(s)</summary>"
                f"\n\n{items}\n\n</details>"
            )
    return "\n\n".join(parts)


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = [_row(header), _row(["---"] * len(header))]
    lines += [_row(row) for row in rows]
    return "\n".join(lines)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(_cell(cell) for cell in cells) + " |"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def _quote(text: str) -> str:
    return text.replace("\n", "\n> ")
