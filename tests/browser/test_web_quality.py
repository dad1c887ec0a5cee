"""How the web app is built and behaves beyond its features: size, lazy loading, CSP, history,
and speed on long pastes."""

from __future__ import annotations

import gzip
import json
import math
import re
from collections.abc import Callable, Iterator

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, Response, expect

from tests.browser.helpers import (
    REPO,
    TEST_RESULTS,
    create_paste_by_api,
    save_screenshot,
    wait_for_qr_code,
)

pytestmark = pytest.mark.browser

FIRST_LOAD_BUDGET_BYTES = 150 * 1024
FIRST_LOAD_REPORT = TEST_RESULTS / "first-load.json"
DOCUMENTED_FIRST_LOAD = re.compile(r"\*\*First load of `/`: ([\d.]+) KB compressed\*\*")
DOCUMENTED_FIGURE_TOLERANCE = 0.05  # the figure moves a little with /openapi.json
# Vite names a lazily imported module's chunk after it: web/src/qr.ts, the highlighting worker.
QR_CHUNK = re.compile(r"/assets/qr-[\w-]+\.js$")
HIGHLIGHT_WORKER = re.compile(r"/assets/highlight\.worker-[\w-]+\.js$")
ONE_MEGABYTE = 1024 * 1024
HIGHLIGHT_MAX_CHARS = 256 * 1024  # web/src/highlight.ts
LINES_PER_BLOCK = 1000  # web/src/line-blocks.ts
LONG_LINE = "value = compute(alpha, beta, gamma)  # a line of a long generated file\n"
# Accented letters take two bytes in UTF-8: a paste of the highlighting limit in characters is
# over it in bytes.
WIDE_LINE = "café = compute(ä, ö, ü)  # ünïcödé: a line of a long generated file\n"

# The longest frame while a long paste opens and is scrolled to its end, against the same steps
# on a small paste in the same test (the yardstick of how busy the machine is right now). Each
# is the best of three alternating runs, so a stall from another process doesn't count while a
# freeze the page causes, there every time, does. 3x allows the extra work a long paste really
# costs (a megabyte of JSON to parse, blocks to build); 200 ms, one scheduling hiccup on a
# shared two-core machine. The whole paste laid out in one frame took 6-13x the small paste.
FREEZE_RATIO = 3
FREEZE_SLACK_MS = 200
RUNS = 3
# Browsers report a frame only when it is longer than this: no report means shorter.
LONG_FRAME_MS = 50.0

RECORD_CSP_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) =>
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`));
"""
RECORD_LONG_FRAMES = """
window.longFrames = [];
const observer = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.longFrames.push(entry.duration);
});
for (const type of ["longtask", "long-animation-frame"]) observer.observe({ type, buffered: true });
"""
SCROLL_PASTE_TO_END = """async () => {
  const body = document.querySelector(".paste-body");
  body.scrollTop = body.scrollHeight;
  await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
}"""
# The top of each block of line numbers and of the code block beside it, in pixels.
BLOCK_TOPS = """() => {
  const top = (element) => Math.round(element.getBoundingClientRect().top);
  const numbers = [...document.querySelectorAll(".line-numbers .line-block")];
  const code = [...document.querySelectorAll(".paste-code .line-block")];
  return [numbers.map(top), code.map(top)];
}"""


def test_first_load_of_home_is_under_150_kb_and_leaves_the_qr_encoder_for_later(
    page: Page,
) -> None:
    responses: list[Response] = []
    page.on("response", lambda response: responses.append(response))
    page.goto("/")
    page.wait_for_load_state("networkidle")
    first_load = list(responses)

    sizes = {response.url: len(gzip.compress(response.body(), 9)) for response in first_load}
    total = sum(sizes.values())
    FIRST_LOAD_REPORT.parent.mkdir(parents=True, exist_ok=True)
    FIRST_LOAD_REPORT.write_text(json.dumps({"gzip_bytes": total, "files": sizes}, indent=2))
    assert any(url.endswith(".js") for url in sizes), "the app's script was not loaded"
    assert not [url for url in sizes if QR_CHUNK.search(url) or HIGHLIGHT_WORKER.search(url)]
    assert total < FIRST_LOAD_BUDGET_BYTES
    documented = DOCUMENTED_FIRST_LOAD.search((REPO / "docs" / "WEB-APP.md").read_text())
    assert documented, "docs/WEB-APP.md: no first-load figure"
    documented_bytes = float(documented[1]) * 1024
    assert abs(documented_bytes - total) <= DOCUMENTED_FIGURE_TOLERANCE * total, (
        f"measured {total} B"
    )

    page.get_by_label("Long URL").fill("https://example.org/qr")
    page.get_by_role("button", name="Shorten").click()
    wait_for_qr_code(page)
    fetched_later = [response.url for response in responses[len(first_load) :]]
    assert [url for url in fetched_later if QR_CHUNK.search(url)], fetched_later


def test_pages_run_under_the_edge_csp_without_violations(page: Page) -> None:
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    response = page.goto("/")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy

    page.get_by_label("Long URL").fill("https://example.org/csp")
    page.get_by_role("button", name="Shorten").click()
    wait_for_qr_code(page)
    page.goto("/#paste")
    page.get_by_role("textbox", name="Text", exact=True).fill("body { color: red; }\n")
    page.get_by_label("Syntax").select_option("css")
    page.get_by_role("button", name="Create paste").click()
    page.get_by_role("link", name="Open the paste").click()
    expect(page.locator("code[data-highlighted='yes']")).to_be_visible()
    page.goto("/#mine")
    expect(page.get_by_role("heading", name="My links and pastes")).to_be_visible()

    assert page.evaluate("window.cspViolations") == []


def test_back_button_returns_to_the_previous_section(page: Page) -> None:
    page.goto("/")
    page.get_by_role("link", name="Paste", exact=True).click()
    expect(page.get_by_role("heading", name="Create a paste")).to_be_visible()
    page.get_by_role("link", name="My links and pastes").click()
    expect(page.get_by_role("heading", name="My links and pastes")).to_be_visible()

    page.go_back()

    expect(page.get_by_role("heading", name="Create a paste")).to_be_visible()
    expect(page.get_by_role("link", name="Paste", exact=True)).to_have_attribute(
        "aria-current", "page"
    )


def test_paste_is_highlighted_in_a_web_worker(page: Page, spito_url: str) -> None:
    workers: list[str] = []
    page.on("worker", lambda worker: workers.append(worker.url))
    paste = create_paste_by_api(spito_url, "def greet():\n    return 42\n", syntax="python")

    page.goto(f"/p/{paste['id']}")

    expect(page.locator("code[data-highlighted='yes'] .hljs-keyword").first).to_have_text("def")
    assert [url for url in workers if HIGHLIGHT_WORKER.search(url)], workers


@pytest.fixture(scope="module")
def long_paste(spito_url: str) -> tuple[str, str]:
    """A paste of 1 MB in Python, as (id, content): over the highlighting limit."""
    content = LONG_LINE * (ONE_MEGABYTE // len(LONG_LINE))
    return create_paste_by_api(spito_url, content, syntax="python")["id"], content


@pytest.fixture
def fresh_page(context: BrowserContext) -> Iterator[Callable[[], Page]]:
    """New pages in one profile (so the app's files are cached alike for every run)."""
    pages: list[Page] = []

    def new_page() -> Page:
        pages.append(context.new_page())
        return pages[-1]

    yield new_page
    for page in pages:
        page.close()


def longest_frame_ms(page: Page, path: str, ready: Callable[[Page], None]) -> float:
    """The longest frame while `path` opens until `ready` holds and its paste is scrolled to the
    end (so its last lines are rendered too)."""
    page.add_init_script(RECORD_LONG_FRAMES)
    page.goto(path)
    ready(page)
    page.evaluate(SCROLL_PASTE_TO_END)
    frames: list[float] = page.evaluate("window.longFrames")
    return max([LONG_FRAME_MS, *frames])


def compare_longest_frames(
    new_page: Callable[[], Page],
    case: str,
    small: tuple[str, Callable[[Page], None]],
    large: tuple[str, Callable[[Page], None]],
) -> tuple[float, float]:
    """Best-of-RUNS longest frames of the small and the large paste, alternating, after one
    unmeasured load that fills the cache; written to test-results/paste-frames-{case}.json."""
    longest_frame_ms(new_page(), *small)
    best_small = best_large = float("inf")
    for _ in range(RUNS):
        best_small = min(best_small, longest_frame_ms(new_page(), *small))
        best_large = min(best_large, longest_frame_ms(new_page(), *large))
    report = {
        "longest_frame_ms": best_large,
        "small_paste_longest_frame_ms": best_small,
        "allowed_ms": FREEZE_RATIO * best_small + FREEZE_SLACK_MS,
    }
    (TEST_RESULTS / f"paste-frames-{case}.json").write_text(json.dumps(report, indent=2))
    return best_small, best_large


def highlighted(page: Page) -> None:
    expect(page.locator("code[data-highlighted='yes']")).to_be_attached()


def shown_plain(page: Page) -> None:
    expect(page.get_by_role("status").filter(has_text="without highlighting")).to_be_visible()


@pytest.fixture(scope="module")
def small_paste_path(spito_url: str) -> str:
    return f"/p/{create_paste_by_api(spito_url, LONG_LINE * 20, syntax='python')['id']}"


def test_one_megabyte_paste_opens_without_freezing_the_page(
    fresh_page: Callable[[], Page], small_paste_path: str, long_paste: tuple[str, str]
) -> None:
    small, large = compare_longest_frames(
        fresh_page, "1mb", (small_paste_path, highlighted), (f"/p/{long_paste[0]}", shown_plain)
    )
    assert large <= FREEZE_RATIO * small + FREEZE_SLACK_MS


def test_paste_at_the_highlight_limit_in_characters_is_highlighted_without_freezing(
    fresh_page: Callable[[], Page], small_paste_path: str, spito_url: str
) -> None:
    content = (WIDE_LINE * (HIGHLIGHT_MAX_CHARS // len(WIDE_LINE) + 1))[:HIGHLIGHT_MAX_CHARS]
    assert len(content.encode()) > HIGHLIGHT_MAX_CHARS  # the limit is not in bytes
    paste = create_paste_by_api(spito_url, content, syntax="python")
    path = f"/p/{paste['id']}"

    small, large = compare_longest_frames(
        fresh_page, "highlight-limit", (small_paste_path, highlighted), (path, highlighted)
    )

    assert large <= FREEZE_RATIO * small + FREEZE_SLACK_MS
    page = fresh_page()
    page.goto(path)
    code = page.locator("pre.paste-code code[data-highlighted='yes']")
    expect(code.locator(".hljs-comment").last).to_be_attached()
    assert code.evaluate("code => code.textContent") == content


def test_paste_one_character_over_the_highlight_limit_is_shown_plain(
    page: Page, spito_url: str
) -> None:
    content = ("x = 1\n" * (HIGHLIGHT_MAX_CHARS // 6 + 1))[: HIGHLIGHT_MAX_CHARS + 1]
    paste = create_paste_by_api(spito_url, content, syntax="python")

    page.goto(f"/p/{paste['id']}")

    expect(page.get_by_role("status")).to_have_text(
        f"Shown without highlighting: it is longer than {HIGHLIGHT_MAX_CHARS:,} characters."
    )
    code = page.locator("pre.paste-code code")
    assert code.evaluate("code => code.querySelectorAll('.line-block *').length") == 0


def test_long_paste_keeps_line_numbers_in_line_copies_exactly_and_links_raw(
    page: Page, spito_url: str, long_paste: tuple[str, str]
) -> None:
    paste_id, content = long_paste
    page.goto(f"/p/{paste_id}")
    shown_plain(page)
    code = page.locator("pre.paste-code code")
    assert code.evaluate("code => code.textContent") == content
    assert code.evaluate("code => code.querySelectorAll('*:not(.line-block)').length") == 0
    blocks = code.locator(".line-block")
    expect(blocks).to_have_count(math.ceil(content.count("\n") / LINES_PER_BLOCK))
    assert blocks.last.evaluate("block => getComputedStyle(block).contentVisibility") == "auto"

    for fraction in (0.5, 1.0):  # line numbers beside unrendered blocks must not drift
        page.locator(".paste-body").evaluate(
            "(body, fraction) => body.scrollTop = body.scrollHeight * fraction", fraction
        )
        expect(page.locator(".line-numbers")).to_be_visible()
        numbers, code_blocks = page.evaluate(BLOCK_TOPS)
        assert numbers == code_blocks
    expect(page.locator(".line-numbers .line-block").last).to_have_text(
        re.compile(f"\n{content.count(chr(10))}$")
    )
    save_screenshot(page, "long-paste-end")

    page.get_by_role("button", name="Copy paste").click()
    expect(page.get_by_role("button", name="Copy paste")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == content
    raw = page.get_by_role("link", name="Raw").get_attribute("href")
    assert httpx.get(f"{spito_url}{raw}", timeout=30).text == content
