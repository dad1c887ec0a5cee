"""`make synth`'s table of stacks and resource counts (ci/synth_summary.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.fixtures.cdk_app import REPO_ROOT


def _summary(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ci.synth_summary", *arguments],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_every_stack_is_listed_with_its_region_and_resource_count_and_a_total(
    cdk_out: Path,
) -> None:
    result = _summary(str(cdk_out))
    assert result.returncode == 0, result.stderr
    header, rule, *rows, total = result.stdout.splitlines()
    assert header.split() == ["stack", "region", "resources", "most", "common"]
    assert set(rule) == {"-", " "}
    manifest = json.loads((cdk_out / "manifest.json").read_text())
    expected = {}
    for artifact in manifest["artifacts"].values():
        if artifact["type"] == "aws:cloudformation:stack":
            template = json.loads((cdk_out / artifact["properties"]["templateFile"]).read_text())
            region = artifact["environment"].rsplit("/", 1)[-1]
            expected[artifact["displayName"]] = (region, len(template["Resources"]))
    listed = {row.split()[0]: (row.split()[1], int(row.split()[2])) for row in rows}
    assert listed == expected
    assert listed["Spito-prod-EdgeGlobal"][0] == "us-east-1"
    assert total.split() == ["total", str(sum(count for _, count in expected.values()))]


def test_each_row_names_three_types_none_of_them_rarer_than_one_left_out(cdk_out: Path) -> None:
    result = _summary(str(cdk_out))
    (row,) = [row for row in result.stdout.splitlines() if row.startswith("Spito-prod-Network")]
    listed = dict(item.rsplit(" ", 1) for item in row.split(None, 3)[3].split(", "))
    assert len(listed) == 3
    template = json.loads((cdk_out / "Spito-prod-Network.template.json").read_text())
    counts: dict[str, int] = {}
    for resource in template["Resources"].values():
        name = resource["Type"].split("::", 1)[1]
        counts[name] = counts.get(name, 0) + 1
    assert {name: int(count) for name, count in listed.items()} == {
        name: counts[name] for name in listed
    }
    left_out = [count for name, count in counts.items() if name not in listed]
    assert min(counts[name] for name in listed) >= max(left_out)


def test_an_assembly_without_a_manifest_is_refused_with_the_fix(tmp_path: Path) -> None:
    result = _summary(str(tmp_path))
    assert result.returncode == 1
    assert f"{tmp_path} has no manifest.json; run cdk synth first" in result.stderr
    assert result.stdout == ""
