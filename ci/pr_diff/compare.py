"""The report on a head assembly against a base assembly, both already synthesized.

Used by `make diff` (ci/pr_diff/__main__.py) and its tests.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ci.pr_diff.assembly import Synthesis
from ci.pr_diff.cdk_diff import CdkDiffError, ResourceChange, StackDiff, run_cdk_diff
from ci.pr_diff.checks import CheckResult, cdk_nag, cfn_lint, checkov
from ci.pr_diff.exports import exports_in_use
from ci.pr_diff.fleet import rolls
from ci.pr_diff.iam import iam_changes
from ci.pr_diff.offline import CDK
from ci.pr_diff.report import Report
from ci.pr_diff.suppressions import Suppression, changes, suppressions
from ci.pr_diff.templates import Template, construct_path, load

LOG_TAIL_LINES = 20


def compare(
    base: Synthesis,
    head: Synthesis,
    *,
    base_label: str,
    head_label: str,
    stages: list[str],
    only_stage: str | None = None,
    notes: list[str] | None = None,
) -> Report:
    """`cdk diff` of every stack of `head` against `base`, and the checks on `head`.

    `stages` are the stages synthesized (for the title), `only_stage` the one `STAGE` asked for,
    if any, and `notes` warnings the caller found on the way.
    """
    head_suppressions = suppressions(head)
    base_suppressions = suppressions(base)
    with (
        tempfile.TemporaryDirectory(prefix="spito-diff-") as tmp,
        ThreadPoolExecutor(max_workers=1) as pool,
    ):
        empty_template = Path(tmp) / "empty.template.json"
        empty_template.write_text("{}")
        checks_job = pool.submit(_checks, head, head_suppressions)
        diffs, diff_errors = _diffs(base, head, empty_template)
        checks = checks_job.result()
    base_templates = {name: load(stack.template) for name, stack in base.stacks.items()}
    head_templates = {name: load(stack.template) for name, stack in head.stacks.items()}
    for diff in diffs:
        _read_templates(diff, base_templates.get(diff.stack, {}), head_templates.get(diff.stack))
    return Report(
        base_label=base_label,
        head_label=head_label,
        stages=stages,
        only_stage=only_stage,
        diffs=diffs,
        exports_in_use=(
            exports_in_use(base_templates, head_templates, diffs) if head.stacks else []
        ),
        warnings=[*_synth_warnings(base, head), *(notes or []), *diff_errors],
        head_ok=head.ok and not diff_errors,
        checks=checks,
        suppressions=changes(base_suppressions, head_suppressions),
    )


def _diffs(
    base: Synthesis, head: Synthesis, empty_template: Path
) -> tuple[list[StackDiff], list[str]]:
    diffs: list[StackDiff] = []
    errors: list[str] = []
    for name in head.stacks:
        base_stack = base.stacks.get(name)
        template = base_stack.template if base_stack else empty_template
        try:
            diff = run_cdk_diff(cdk=CDK, stack=name, assembly=head.out_dir, base_template=template)
        except CdkDiffError as error:
            errors.append(f"`cdk diff {name}` failed:\n```text\n{_tail(str(error))}\n```")
            continue
        diff.note = "" if base_stack else "new stack"
        diff.stage = head.stacks[name].stage
        diffs.append(diff)
    if head.ok or head.stacks:  # a head that wrote no assembly says nothing about removals
        diffs += [_removed_stack(name, base) for name in base.stacks if name not in head.stacks]
    return diffs, errors


def _removed_stack(name: str, base: Synthesis) -> StackDiff:
    """A stack the head no longer has: every resource goes, unless its policy retains it."""
    template = load(base.stacks[name].template)
    retained = ("Retain", "RetainExceptOnCreate")
    resources = [
        ResourceChange(
            action="remove",
            resource_type=resource["Type"],
            path=construct_path(template, logical_id),
            logical_id=logical_id,
            impact="orphan" if resource.get("DeletionPolicy") in retained else "destroy",
        )
        for logical_id, resource in template.get("Resources", {}).items()
        if resource["Type"] != "AWS::CDK::Metadata"  # bookkeeping; cdk diff hides it too
    ]
    return StackDiff(
        stack=name,
        raw="(stack removed)",
        changed=True,
        resources=resources,
        note="stack removed",
        stage=base.stacks[name].stage,
    )


def _read_templates(diff: StackDiff, base: Template, head: Template | None) -> None:
    """What the templates say beyond `cdk diff`: every IAM grant changed, the groups rolled."""
    diff.iam = iam_changes(base, head or {})
    diff.changed = diff.changed or bool(diff.iam)
    diff.rolls = rolls(base, head, stack_changed=diff.changed) if head is not None else []
    diff.changed = diff.changed or bool(diff.rolls)


def _checks(head: Synthesis, silenced: set[Suppression]) -> list[CheckResult]:
    if not head.has_app or not (head.ok or head.stacks):
        return []  # nothing synthesized to check; the warning says why
    templates = [stack.template for stack in head.stacks.values()]
    acknowledged = sum(suppression.tool == "cdk-nag" for suppression in silenced)
    return [
        cdk_nag(head.out_dir, acknowledged=acknowledged),
        cfn_lint(templates, cwd=head.source),
        checkov(templates, cwd=head.source),
    ]


def _synth_warnings(base: Synthesis, head: Synthesis) -> list[str]:
    warnings = []
    if not head.has_app:
        warnings.append("The head has no `app.py`: nothing to synthesize.")
    elif not head.ok:
        warnings.append(f"Synth of the head failed:\n```text\n{_tail(head.log)}\n```")
    if not base.has_app:
        warnings.append("The base has no `app.py`: every stack is compared with an empty one.")
    elif not base.ok and not base.stacks:
        warnings.append(
            "Synth of the base failed, so every stack is compared with an empty one:\n"
            f"```text\n{_tail(base.log)}\n```"
        )
    return warnings


def _tail(text: str) -> str:
    return "\n".join(text.strip().splitlines()[-LOG_TAIL_LINES:])
