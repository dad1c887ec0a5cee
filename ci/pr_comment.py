"""Posts the `make diff` report as a pull request's one infrastructure comment.

The first run creates the comment; every later push edits it in place, found by the marker
line the report starts with, so a pull request carries one current report, not one per push.

Usage (the PR workflow): GITHUB_TOKEN=... python -m ci.pr_comment \
    --repo OWNER/NAME --pr NUMBER --body-file pr-diff.md
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ci.pr_diff.report import MARKER

# GitHub refuses comment bodies over 65,536 characters.
MAX_BODY = 65_536
CUT_NOTE = "\n\n… (report cut to fit a comment: the job summary has all of it)\n"
NO_REPORT = "**`make diff` produced no report**: the workflow log says why.\n"
PAGE_SIZE = 100


class GitHubError(RuntimeError):
    """A GitHub API call failed; the message says which and why."""


class GitHub:
    """The three REST calls this needs, with a token, against `api_url`."""

    def __init__(self, api_url: str, token: str) -> None:
        self.api_url = api_url.rstrip("/")
        self.token = token

    def request(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(  # noqa: S310 - the URL is the configured GitHub API
            f"{self.api_url}{path}",
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {self.token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:500]
            raise GitHubError(f"{method} {path}: HTTP {error.code} {detail}") from None
        except urllib.error.URLError as error:
            raise GitHubError(f"{method} {path}: {error.reason}") from None


def publish(github: GitHub, *, repo: str, pr: int, body: str) -> str:
    """Edits the pull request's report comment, or creates it; returns what it did."""
    if not body.startswith(MARKER):
        body = f"{MARKER}\n{body}"
    body = fit(body)
    existing = find_report_comment(github, repo=repo, pr=pr)
    if existing is None:
        github.request("POST", f"/repos/{repo}/issues/{pr}/comments", {"body": body})
        return "created"
    github.request("PATCH", f"/repos/{repo}/issues/comments/{existing}", {"body": body})
    return f"updated comment {existing}"


def find_report_comment(github: GitHub, *, repo: str, pr: int) -> int | None:
    """The id of the comment whose body starts with the marker, on any page."""
    page = 1
    while True:
        comments: list[dict[str, Any]] = github.request(
            "GET", f"/repos/{repo}/issues/{pr}/comments?per_page={PAGE_SIZE}&page={page}"
        )
        for comment in comments:
            if str(comment.get("body", "")).startswith(MARKER):
                return int(comment["id"])
        if len(comments) < PAGE_SIZE:
            return None
        page += 1


def fit(body: str) -> str:
    """`body`, cut with a note if GitHub would refuse it as too long."""
    if len(body) <= MAX_BODY:
        return body
    return body[: MAX_BODY - len(CUT_NOTE)] + CUT_NOTE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ci.pr_comment", description=__doc__)
    parser.add_argument("--repo", required=True, help="OWNER/NAME")
    parser.add_argument("--pr", required=True, type=int, help="pull request number")
    parser.add_argument("--body-file", required=True, type=Path, help="the report (Markdown)")
    args = parser.parse_args(argv)
    token = os.environ.get("GITHUB_TOKEN", "")
    if not token:
        print("pr_comment: GITHUB_TOKEN is not set; nothing was posted.", file=sys.stderr)
        return 1
    api_url = os.environ.get("GITHUB_API_URL", "https://api.github.com")
    try:
        body = args.body_file.read_text() if args.body_file.is_file() else ""
        outcome = publish(
            GitHub(api_url, token), repo=args.repo, pr=args.pr, body=body or NO_REPORT
        )
    except GitHubError as error:
        print(f"pr_comment: {error}", file=sys.stderr)
        return 1
    print(f"pr_comment: {outcome} on {args.repo}#{args.pr}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
