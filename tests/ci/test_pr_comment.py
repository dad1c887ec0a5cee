"""The PR workflow keeps one report comment per pull request and edits it on each push."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ci.pr_comment import MAX_BODY, PAGE_SIZE, GitHub, GitHubError, publish
from ci.pr_diff.report import MARKER
from tests.ci.fake_github import TOKEN, FakeGitHub, fake_github

PROJECT_ROOT = Path(__file__).resolve().parents[2]
REPO = "spito/spito"
PR = 7


@pytest.fixture
def server() -> Iterator[FakeGitHub]:
    with fake_github() as state:
        yield state


def _report(text: str) -> str:
    return f"{MARKER}\n\n{text}\n"


def test_first_push_creates_the_report_comment(server: FakeGitHub) -> None:
    outcome = publish(GitHub(server.url, TOKEN), repo=REPO, pr=PR, body=_report("first"))
    assert outcome == "created"
    assert [comment["body"] for comment in server.comments[PR]] == [_report("first")]


def test_later_push_edits_the_report_comment_and_leaves_the_others(server: FakeGitHub) -> None:
    server.add_comment(PR, "LGTM, but see " + MARKER)  # a person quoting the marker mid-text
    report_id = server.add_comment(PR, _report("first"))
    outcome = publish(GitHub(server.url, TOKEN), repo=REPO, pr=PR, body=_report("second"))
    assert outcome == f"updated comment {report_id}"
    assert [comment["body"] for comment in server.comments[PR]] == [
        "LGTM, but see " + MARKER,
        _report("second"),
    ]


def test_report_comment_is_found_past_the_first_page(server: FakeGitHub) -> None:
    for number in range(PAGE_SIZE + 5):
        server.add_comment(PR, f"comment {number}")
    report_id = server.add_comment(PR, _report("first"))
    publish(GitHub(server.url, TOKEN), repo=REPO, pr=PR, body=_report("second"))
    assert len(server.comments[PR]) == PAGE_SIZE + 6
    assert f"PATCH /repos/{REPO}/issues/comments/{report_id}" in server.requests


def test_body_without_the_marker_gets_it_so_the_next_push_finds_it(server: FakeGitHub) -> None:
    publish(GitHub(server.url, TOKEN), repo=REPO, pr=PR, body="no marker")
    publish(GitHub(server.url, TOKEN), repo=REPO, pr=PR, body="still none")
    assert [comment["body"] for comment in server.comments[PR]] == [f"{MARKER}\nstill none"]


def test_oversized_report_is_cut_to_what_github_accepts(server: FakeGitHub) -> None:
    publish(GitHub(server.url, TOKEN), repo=REPO, pr=PR, body=_report("x" * (MAX_BODY * 2)))
    body = server.comments[PR][0]["body"]
    assert len(body) == MAX_BODY
    assert body.endswith("the job summary has all of it)\n")


def test_rejected_token_raises_with_the_status(server: FakeGitHub) -> None:
    with pytest.raises(GitHubError, match="HTTP 401"):
        publish(GitHub(server.url, "wrong"), repo=REPO, pr=PR, body=_report("x"))


def test_cli_without_token_fails_and_posts_nothing(server: FakeGitHub, tmp_path: Path) -> None:
    body = tmp_path / "pr-diff.md"
    body.write_text(_report("x"))
    env = {key: value for key, value in os.environ.items() if key != "GITHUB_TOKEN"}
    env["GITHUB_API_URL"] = server.url
    command = ["--repo", REPO, "--pr", str(PR), "--body-file", str(body)]
    completed = subprocess.run(
        [sys.executable, "-m", "ci.pr_comment", *command],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 1
    assert "GITHUB_TOKEN is not set" in completed.stderr
    assert server.requests == []
