"""`make diff` on scratch apps: each kind of change shows up in the Markdown as it should.

Synthesizing the tiny CDK app (two stages in one app) costs about 15 s of CPU, so there are
three synthesized scenarios: nothing changed (its head compared in process with one shared base
synth), and, through `make diff BASE=main` on a scratch git repository, one head holding every
independent change at once, all in the `dev` stage's settings in cdk.json (a security-group
rule, the table's key with a stack importing its ARN, a bucket cdk-nag rejects, a deleted log
group, a new IAM statement, a new action in a managed policy, the fleet's instance type, a
removed stack, new acknowledgments), so `prod` is unchanged. Each test reads the part of the
report about one of them. A third runs `make diff` on a repository whose head does not
synthesize and whose base is a cloud assembly written without aws_cdk.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ci.pr_diff.__main__ import REPORT, REPORT_WITH_FINDINGS
from ci.pr_diff.assembly import synthesize_stages
from ci.pr_diff.compare import compare
from ci.pr_diff.offline import CDK, CFN_LINT, CHECKOV, PROJECT_ROOT
from ci.pr_diff.report import MARKER, render
from tests.ci.scratch_app import (
    ASSEMBLY_APP,
    EXPORTING_APP,
    STAGED_ASSEMBLY_APP,
    STAGES,
    TINY_APP,
    DiffRun,
    cdk_json,
    git,
    make_scratch_repo,
    run_diff,
    run_make_diff,
    run_once,
    shared_base,
    write_app,
)

_HEADER = re.compile(r"^## Infrastructure diff: `(?P<base>[^`]+)` → `(?P<head>[^`]+)`", re.M)


def _compared_with_the_shared_base(
    tmp_path_factory: pytest.TempPathFactory, name: str, settings: str
) -> DiffRun:
    def make_run(work: Path) -> DiffRun:
        head_source = write_app(work / "head", TINY_APP, settings)
        with ThreadPoolExecutor(max_workers=1) as pool:  # the head while the base synthesizes
            head_job = pool.submit(synthesize_stages, head_source, work / "head.out", STAGES)
            base = shared_base(tmp_path_factory)
            head = head_job.result()
        report = compare(base, head, base_label="base", head_label="head", stages=STAGES)
        return DiffRun(render(report), report.passed)

    return run_once(tmp_path_factory, f"pr-diff-{name}", make_run)


@pytest.fixture(scope="module")
def unchanged(tmp_path_factory: pytest.TempPathFactory) -> DiffRun:
    return _compared_with_the_shared_base(tmp_path_factory, "unchanged", cdk_json())


# The dev stage's new settings in cdk.json (the tiny app's DEFAULTS are the old ones).
DEV_CHANGES = {
    "ingress_port": 8443,
    "partition_key": "slug",
    "with_bucket": True,
    "with_logs": False,
    "role_may_read_table": True,
    "with_audit_stack": False,
    "table_lint_reason": "A new reason.",
    "instance_type": "t4g.small",
    "reader_actions": ["dynamodb:GetItem", "dynamodb:Scan"],
}


@pytest.fixture(scope="module")
def changed(tmp_path_factory: pytest.TempPathFactory) -> DiffRun:
    """`make diff BASE=main` on a scratch git repository whose working tree makes `DEV_CHANGES`.

    The whole path a developer takes: the Makefile, the base checked out into a worktree and
    synthesized beside the head, `cdk diff` per stack, the checks, the Markdown.
    """

    def make_run(work: Path) -> DiffRun:
        repo = make_scratch_repo(work / "repo")
        (repo / "cdk.json").write_text(cdk_json(**DEV_CHANGES))
        return run_make_diff(repo, work / "pr-diff.md", "BASE=main")

    return run_once(tmp_path_factory, "pr-diff-changed-make", make_run)


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> DiffRun:
    """`make diff BASE=pr-base STAGE=qa DIFF_OUTPUT=...` where the head fails before any synth.

    `main` is one commit past `pr-base`, so a BASE the Makefile dropped would show as the head's
    own commit. The base is an assembly with one stack: a head that wrote none must not list it
    as removed.
    """

    def make_run(work: Path) -> DiffRun:
        repo = make_scratch_repo(work / "repo", ASSEMBLY_APP)
        git(repo, "branch", "pr-base")
        (repo / "NOTES.md").write_text("Not infrastructure.\n")
        git(repo, "add", "NOTES.md")
        git(repo, "commit", "--quiet", "--message=notes")
        (repo / "app.py").write_text("raise SystemExit('no config')\n")
        return run_make_diff(repo, work / "pr-diff.md", "BASE=pr-base", "STAGE=qa")

    return run_once(tmp_path_factory, "pr-diff-broken-make", make_run)


def _table_rows(markdown: str, first_cell: str) -> list[list[str]]:
    """Cells of the Markdown table rows whose first cell is `first_cell`."""
    rows = []
    for line in markdown.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == first_cell:
            rows.append(cells)
    return rows


def test_unchanged_app_reports_no_infrastructure_changes(unchanged: DiffRun) -> None:
    assert "**No infrastructure changes.** 6 stack(s) compared, none changed." in unchanged.markdown
    assert "`Tiny-dev`" not in unchanged.markdown


def test_unchanged_app_with_passing_checks_passes(unchanged: DiffRun) -> None:
    assert unchanged.passed, unchanged.markdown


def test_report_begins_with_the_marker_the_workflow_edits_by(unchanged: DiffRun) -> None:
    assert unchanged.markdown.splitlines()[0] == MARKER


def test_every_check_is_reported_on_the_head(unchanged: DiffRun) -> None:
    results = {row[0]: row[1] for row in _table_rows(unchanged.markdown, "cdk-nag")}
    results.update({row[0]: row[1] for row in _table_rows(unchanged.markdown, "cfn-lint")})
    results.update({row[0]: row[1] for row in _table_rows(unchanged.markdown, "checkov")})
    assert results == {"cdk-nag": "✅ pass", "cfn-lint": "✅ pass", "checkov": "✅ pass"}


def test_security_group_rule_change_lists_the_old_and_the_new_rule(
    changed: DiffRun,
) -> None:
    rules = _table_rows(changed.markdown, "added")
    rules += _table_rows(changed.markdown, "removed")
    assert ["added", "${Sg.GroupId}", "In", "TCP 8443", "10.0.0.0/8"] in rules
    assert ["removed", "${Sg.GroupId}", "In", "TCP 443", "10.0.0.0/8"] in rules


def test_overview_counts_each_change_once(changed: DiffRun) -> None:
    overview = _table_rows(changed.markdown, "`Tiny-dev`")
    # Stack | Added (bucket, its policy, role policy) | Modified (group, launch template)
    # | Replaced (table) | Removed (logs) | IAM | Security groups
    assert overview == [["`Tiny-dev`", "3", "2", "1", "1", "yes", "yes"]]


def test_security_group_rule_change_is_not_called_a_data_loss(changed: DiffRun) -> None:
    alert = re.search(r"> \[!CAUTION\]\n(?:> .*\n)+", changed.markdown)
    assert alert
    assert "SecurityGroup" not in alert.group(0)


def test_table_key_change_is_flagged_loudly_as_stateful_replacement(
    changed: DiffRun,
) -> None:
    alert = re.search(r"> \[!CAUTION\]\n(?:> .*\n)+", changed.markdown)
    assert alert, changed.markdown
    assert "`Tiny-dev` · `AWS::DynamoDB::Table` `Table`" in alert.group(0)
    assert "**replace** because of KeySchema (requires replacement)" in alert.group(0)


def test_table_key_change_row_says_replace_and_stateful(changed: DiffRun) -> None:
    rows = _table_rows(changed.markdown, "🛑 **replace**, stateful")
    assert len(rows) == 1
    assert rows[0][1:3] == ["`Table`", "`AWS::DynamoDB::Table`"]
    assert "KeySchema (requires replacement)" in rows[0][4]


def test_unencrypted_bucket_fails_cdk_nag_and_the_finding_is_listed(changed: DiffRun) -> None:
    assert not changed.passed
    assert _table_rows(changed.markdown, "cdk-nag")[0][1] == "❌ fail"
    assert "`AwsSolutions-S10` at `Tiny-dev/Bucket/Resource`" in changed.markdown


def test_cdk_nag_failure_still_shows_the_diff(changed: DiffRun) -> None:
    added = _table_rows(changed.markdown, "added")
    assert ["added", "`Bucket`", "`AWS::S3::Bucket`"] in [row[:3] for row in added]


def test_unknown_base_ref_fails_with_a_message_naming_it(tmp_path: Path) -> None:
    repo = make_scratch_repo(tmp_path / "repo")
    run = run_diff(repo, base="no-such-branch")
    assert run.returncode == 2
    assert "BASE='no-such-branch' is not a commit" in run.stderr
    assert run.markdown == ""


@pytest.mark.parametrize("missing", ["the CDK CLI", "cfn-lint", "checkov"])
def test_missing_tool_stops_before_any_synth_and_names_make_deps(
    tmp_path: Path, missing: str
) -> None:
    """A copy of the tool in a project tree where one tool is not installed, run as make runs it.

    The interpreter is a link in a directory of its own, so cfn-lint is "beside" it only when
    linked there too; the tool needs nothing but the standard library.
    """
    project = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT / "ci" / "pr_diff", project / "ci" / "pr_diff")
    shutil.copy(PROJECT_ROOT / "ci" / "__init__.py", project / "ci")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(Path(sys.executable).resolve())
    installed = {
        "the CDK CLI": (project / "node_modules", PROJECT_ROOT / "node_modules"),
        "cfn-lint": (bin_dir / "cfn-lint", CFN_LINT),
        "checkov": (project / ".tools", PROJECT_ROOT / ".tools"),
    }
    for name, (link, target) in installed.items():
        if name != missing:
            link.symlink_to(target)
    looked_for = {
        "the CDK CLI": project / CDK.relative_to(PROJECT_ROOT),
        "cfn-lint": bin_dir / "cfn-lint",
        "checkov": project / CHECKOV.relative_to(PROJECT_ROOT),
    }[missing]
    repo = make_scratch_repo(tmp_path / "repo")

    completed = subprocess.run(
        [bin_dir / "python", "-m", "ci.pr_diff", "--base", "HEAD", "--repo", repo],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 2
    assert completed.stderr == (
        f"make diff: not installed: {missing} ({looked_for}). Run `make deps` first.\n"
    )
    assert completed.stdout == ""


def test_deleted_log_group_is_flagged_as_data_loss(changed: DiffRun) -> None:
    alert = re.search(r"> \[!CAUTION\]\n(?:> .*\n)+", changed.markdown)
    assert alert
    assert "`Tiny-dev` · `AWS::Logs::LogGroup` `Logs`" in alert.group(0)
    assert "**destroy**" in alert.group(0)


def test_new_permission_is_listed_as_one_iam_statement_with_both_actions(
    changed: DiffRun,
) -> None:
    statements = [row for row in _table_rows(changed.markdown, "added") if row[3] == "Allow"]
    assert [
        "added",
        "`Role/DefaultPolicy` (Policy)",
        "AWS:${Role}",
        "Allow",
        "dynamodb:GetItem<br>dynamodb:Query",
        "${Table.Arn}",
        "",
    ] in statements


def test_newly_acknowledged_nag_finding_is_listed_with_its_reason(changed: DiffRun) -> None:
    silenced = [row for row in _table_rows(changed.markdown, "added") if row[1] == "cdk-nag"]
    assert silenced == [
        [
            "added",
            "cdk-nag",
            "`AwsSolutions-S1`",
            "`Tiny-dev/Bucket`",
            "A test bucket needs no access logs.",
        ]
    ]
    # With the two cfn-lint ignores; the table's reworded ignore is not newly silenced.
    assert (
        "**3 finding(s) newly silenced and 1 silenced finding(s) with a new reason: "
        "check each reason.**"
    ) in changed.markdown
    assert "`AwsSolutions-S1` at" not in changed.markdown


def test_new_reason_for_a_silenced_finding_is_shown_with_the_old_one(changed: DiffRun) -> None:
    assert _table_rows(changed.markdown, "reason changed") == [
        [
            "reason changed",
            "cfn-lint",
            "`W3011`",
            "`Tiny-dev/Table`",
            "A new reason.<br>(was: The table's first reason.)",
        ]
    ]
    assert "`W3011`" not in [row[2] for row in _table_rows(changed.markdown, "added")]


def test_newly_ignored_cfn_lint_rules_are_listed_with_their_reasons(changed: DiffRun) -> None:
    silenced = [row for row in _table_rows(changed.markdown, "added") if row[1] == "cfn-lint"]
    assert silenced == [
        ["added", "cfn-lint", "`I3011`", "`Tiny-dev/Bucket`", "**no reason given**"],
        [
            "added",
            "cfn-lint",
            "`W3045`",
            "`Tiny-dev/Bucket`",
            "A test bucket keeps the default access control.",
        ],
    ]


def test_removed_stack_lists_its_resources_and_spares_retained_data(changed: DiffRun) -> None:
    assert _table_rows(changed.markdown, "`Audit-dev` (stack removed)") == [
        ["`Audit-dev` (stack removed)", "0", "0", "0", "1", "", ""]
    ]
    assert ["removed (orphan)", "`Trail`", "`AWS::Logs::LogGroup`"] in [
        row[:3] for row in _table_rows(changed.markdown, "removed (orphan)")
    ]
    alert = re.search(r"> \[!CAUTION\]\n(?:> .*\n)+", changed.markdown)
    assert alert
    assert "Audit" not in alert.group(0)


def test_head_that_does_not_synthesize_fails_with_its_error_and_claims_no_diff(
    broken: DiffRun,
) -> None:
    # make stops with its own status 2 and names the tool's: 1, the report's failure.
    assert broken.returncode == 2
    assert re.search(r"Makefile:\d+: diff\] Error 1$", broken.stderr, re.M), broken.stderr
    assert "> Synth of the head failed:" in broken.markdown
    assert "no config" in broken.markdown
    assert "**No diff: the head did not synthesize** (see above)." in broken.markdown
    assert "No infrastructure changes" not in broken.markdown
    assert "stack removed" not in broken.markdown  # the base's stack is not said to go
    assert "### Checks on the head" not in broken.markdown


def test_make_diff_writes_to_diff_output_exactly_what_it_prints(broken: DiffRun) -> None:
    assert broken.markdown.startswith(MARKER)
    assert broken.written == broken.markdown


def test_make_diff_compares_with_the_given_base_for_the_given_stage(broken: DiffRun) -> None:
    header = _HEADER.search(broken.markdown)
    assert header, broken.markdown
    assert header["head"].endswith(" + uncommitted changes")
    assert header["base"] != header["head"].split()[0]  # pr-base, not main's own commit
    assert "(stage `qa`)" in broken.markdown.splitlines()[2]
    assert f"`make diff BASE={header['base']} STAGE=qa`" in broken.markdown


def test_new_instance_type_says_the_fleet_rolls_one_at_a_time_up_to_the_signal_timeout(
    changed: DiffRun,
) -> None:
    assert (
        "> - stage `dev` · `Tiny-dev`: **The fleet will roll:** `Fleet` replaces its 2 "
        "instance(s) (the stage's desired or minimum capacity; more if it has scaled out), one "
        "at a time, up to 15 minutes each (the signal timeout), because `FleetLaunchTemplate` "
        "changed (InstanceType)."
    ) in changed.markdown


def test_fleet_whose_image_is_an_ssm_parameter_may_roll_with_any_change_to_its_stack(
    changed: DiffRun,
) -> None:
    assert (
        "> - stage `dev` · `Tiny-dev`: **The fleet may roll:** `Workers` replaces its 2 "
        "instance(s) (the stage's desired or minimum capacity; more if it has scaled out), one "
        "at a time, up to 15 minutes each (the signal timeout), because its image is the SSM "
        "parameter `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-arm64`, which "
        "CloudFormation resolves again at every update of this stack: the fleet rolls if a newer "
        "image was published."
    ) in changed.markdown
    assert "`Tiny-prod`: **The fleet may roll" not in changed.markdown


def test_unchanged_fleet_is_not_said_to_roll(unchanged: DiffRun) -> None:
    assert "The fleet will roll" not in unchanged.markdown


def test_new_action_in_a_managed_policy_is_a_row_of_the_iam_table(changed: DiffRun) -> None:
    # cdk diff's own IAM tables leave managed policies out: the row comes from the templates.
    rows = [row for row in _table_rows(changed.markdown, "added") if "(ManagedPolicy)" in row[1]]
    assert rows == [
        [
            "added",
            "`ReadTable` (ManagedPolicy)",
            "(not attached)",
            "Allow",
            "dynamodb:Scan",
            "${import:Tiny-dev:ExportsOutputFnGetAttTableCD117FA1ArnE2C8C204}",
            "",
        ]
    ]
    assert _table_rows(changed.markdown, "`Reader-dev`") == [
        ["`Reader-dev`", "0", "1", "0", "0", "yes", ""]
    ]


def test_replaced_table_whose_arn_another_stack_imports_warns_that_the_deploy_fails(
    changed: DiffRun,
) -> None:
    export = "Tiny-dev:ExportsOutputFnGetAttTableCD117FA1ArnE2C8C204"
    assert (
        f"> - **The deploy will fail:** `Tiny-dev` export `{export}` changes (it refers to "
        "`Table`, which is replaced or removed), and `Reader-dev` import(s) it: CloudFormation "
        f'stops with "Export {export} cannot be updated as it is in use by Reader-dev".'
    ) in changed.markdown


def test_dev_only_change_is_shown_under_dev_and_unchanged_prod_in_one_line(
    changed: DiffRun,
) -> None:
    assert "(stages `dev`, `prod`)" in changed.markdown.splitlines()[2]
    dev = changed.markdown.index("### Stage `dev`")
    prod = changed.markdown.index("**Stage `prod`: no infrastructure changes** (3 stack(s)")
    assert dev < changed.markdown.index("#### `Tiny-dev`") < prod
    assert "-prod`" not in changed.markdown
    assert "### Stage `prod`" not in changed.markdown


def test_unchanged_report_counts_the_stacks_of_every_stage(unchanged: DiffRun) -> None:
    assert "Stacks per stage: `dev` (3), `prod` (3)." in unchanged.markdown


def test_report_with_findings_exits_1_through_make(changed: DiffRun) -> None:
    # make's own status is 2 for any failed recipe; its last line names the tool's: 1.
    assert changed.returncode == 2
    assert re.search(r"Makefile:\d+: diff\] Error 1$", changed.stderr, re.M), changed.stderr
    assert changed.written == changed.markdown


def test_unknown_stage_makes_no_report_and_removes_an_earlier_one(tmp_path: Path) -> None:
    repo = make_scratch_repo(tmp_path / "repo")
    output = tmp_path / "pr-diff.md"
    output.write_text("an earlier report\n")
    run = run_make_diff(repo, output, "BASE=main", "STAGE=qa")
    assert re.search(r"Makefile:\d+: diff\] Error 2$", run.stderr, re.M), run.stderr
    assert (
        f"make diff: STAGE='qa' is not a stage of {repo / 'cdk.json'} (dev, prod). "
        "Leave STAGE out to report every stage."
    ) in run.stderr
    assert run.markdown == ""
    assert run.written is None


def test_new_bucket_policy_statement_is_a_row_of_the_iam_table(changed: DiffRun) -> None:
    rows = [row for row in _table_rows(changed.markdown, "added") if "(BucketPolicy)" in row[1]]
    assert rows == [
        [
            "added",
            "`Bucket/Policy` (BucketPolicy)",
            "AWS:arn:${AWS::Partition}:iam::111111111111:root",
            "Allow",
            "s3:GetObject",
            "${Bucket.Arn}/*",
            "",
        ]
    ]


def test_base_older_than_multi_stage_synth_is_synthesized_one_stage_at_a_time(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "repo"
    write_app(repo, STAGED_ASSEMBLY_APP.replace("AT_A_TIME = False", "AT_A_TIME = True"))
    (repo / "cdk.json").write_text(cdk_json())
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "--message=one stage at a time")
    (repo / "app.py").write_text(STAGED_ASSEMBLY_APP)

    run = run_diff(repo, base="main")

    assert "Synth of the base failed" not in run.markdown, run.markdown
    assert (
        "**No infrastructure changes.** 2 stack(s) compared, none changed. "
        "Stacks per stage: `dev` (1), `prod` (1)."
    ) in run.markdown


@pytest.mark.parametrize(
    ("exported", "status"), [(True, REPORT), (False, REPORT_WITH_FINDINGS)], ids=["kept", "removed"]
)
def test_export_another_stack_imports_is_the_one_finding_that_fails_the_report(
    tmp_path: Path, exported: bool, status: int
) -> None:
    repo = make_scratch_repo(tmp_path / "repo", EXPORTING_APP)
    (repo / "app.py").write_text(EXPORTING_APP.replace("EXPORTED = True", f"EXPORTED = {exported}"))

    run = run_diff(repo, base="main")

    assert run.returncode == status, run.markdown
    warning = (
        "**The deploy will fail:** `Producer` export `Producer:Handle` is removed (its output is "
        'gone), and `Consumer` import(s) it: CloudFormation stops with "Export Producer:Handle '
        'cannot be deleted as it is in use by Consumer".'
    )
    assert (warning in run.markdown) is not exported
    assert "❌" not in run.markdown  # every check passes either way
