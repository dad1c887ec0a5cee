"""docs/CONTRIBUTING.md's "Where things live" names every top-level folder of the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _tracked_top_level_folders() -> set[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, text=True
    ).stdout
    return {
        path.split("/", 1)[0]
        for path in listed.split("\0")
        if "/" in path and not path.startswith(".")  # .github, .ci: named for themselves
    }


def _documented_folders() -> set[str]:
    page = (ROOT / "docs" / "CONTRIBUTING.md").read_text()
    section = page.split("\n## Where things live\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([^`/]+)/` \|", section, re.MULTILINE))


def test_contributing_names_every_top_level_folder_and_no_other() -> None:
    assert _documented_folders() == _tracked_top_level_folders()
