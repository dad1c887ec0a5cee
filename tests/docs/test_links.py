"""Every relative link and #anchor in README.md and docs/*.md resolves, and every page is linked.

The checker (tests/docs/links.py) is tested here as well, on a scratch tree of pages that holds
one link of each kind it must refuse or accept.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.links import BrokenLink, anchors, broken_links, links, slug

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_every_relative_link_and_anchor_in_the_docs_resolves() -> None:
    broken = broken_links(PAGES, root=ROOT)
    assert not broken, "broken links:\n" + "\n".join(map(str, broken))


def test_every_docs_page_is_linked_from_the_readme() -> None:
    readme = ROOT / "README.md"
    linked = {
        (readme.parent / target.split("#", 1)[0]).resolve()
        for _, target in links(readme.read_text())
        if target.startswith("docs/")
    }
    unlinked = [page.name for page in PAGES[1:] if page.resolve() not in linked]
    assert unlinked == []


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        (
            "Routing: one table for CloudFront and `make dev`",
            "routing-one-table-for-cloudfront-and-make-dev",
        ),
        ("The canary: is Spito working for users?", "the-canary-is-spito-working-for-users"),
        ("`make diff BASE=<git ref>`", "make-diff-basegit-ref"),
        ("The pull request's infrastructure report", "the-pull-requests-infrastructure-report"),
        ("Infrastructure diff: `a4` → `f1` (stage `dev`)", "infrastructure-diff-a4--f1-stage-dev"),
        ("snake_case and kebab-case", "snake_case-and-kebab-case"),
        ("Überblick", "überblick"),
    ],
)
def test_slug_is_the_anchor_github_gives_the_heading(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor
    assert anchors(f"## {heading}\n") == {anchor}


def test_a_repeated_heading_gets_a_numbered_anchor() -> None:
    assert anchors("# Notes\n\n## Notes\n\n### Notes\n\n## Notes-1\n") == {
        "notes",
        "notes-1",
        "notes-2",
        "notes-1-1",
    }


def test_checker_reports_each_broken_link_and_only_those(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "tool.py").write_text("")
    (tmp_path / "docs" / "GUIDE.md").write_text("# Guide\n\n## Step one\n\n## Step one\n")
    (tmp_path / "README.md").write_text(
        "# Home\n\n"
        "[guide](docs/GUIDE.md) [step](docs/GUIDE.md#step-one) [again](docs/GUIDE.md#step-one-1)\n"
        "[here](#home) [tool](src/tool.py#L3) [folder](src/) [root](/docs/GUIDE.md)\n"
        "[site](https://example.com/missing) [mail](mailto:someone@example.com)\n"
        "`[not a link](nowhere.md)`\n\n"
        "```\n[not a link either](nowhere.md)\n```\n\n"
        "| page | link |\n| --- | --- |\n| guide | [in a table](docs/MISSING.md) |\n\n"
        "[missing](docs/NOPE.md) [bad anchor](docs/GUIDE.md#step-two) [here too](#nowhere)\n"
        "![picture](docs/missing.png) [escape](../outside.md) [ref][r]\n\n"
        "[r]: docs/GUIDE.md#no-such-step\n"
    )

    broken = broken_links([tmp_path / "README.md"], root=tmp_path)

    assert {(link.target, link.reason) for link in broken} == {
        ("docs/MISSING.md", "no such file or folder"),
        ("docs/NOPE.md", "no such file or folder"),
        ("docs/GUIDE.md#step-two", "no heading with the anchor #step-two in docs/GUIDE.md"),
        ("#nowhere", "no heading with the anchor #nowhere in README.md"),
        ("docs/missing.png", "no such file or folder"),
        ("../outside.md", "points outside the repository"),
        ("docs/GUIDE.md#no-such-step", "no heading with the anchor #no-such-step in docs/GUIDE.md"),
    }
    assert all(isinstance(link, BrokenLink) and link.line > 0 for link in broken)
