"""How the web app is built and behaves beyond its features: size, CSP, keyboard, phone, speed."""

from __future__ import annotations

import gzip
import json

import httpx
import pytest
from playwright.sync_api import Page, Response, ViewportSize, expect

from tests.browser.helpers import TEST_RESULTS, create_paste, save_screenshot

pytestmark = pytest.mark.browser

FIRST_LOAD_BUDGET_BYTES = 150 * 1024
FIRST_LOAD_REPORT = TEST_RESULTS / "first-load.json"
SECTIONS = ("/", "/#paste", "/#mine")
PHONE: ViewportSize = {"width": 360, "height": 740}
ONE_MEGABYTE = 1024 * 1024
# A frame this long is a freeze a person notices. Laying out 1 MB of plain text takes one frame of
# about 0.5 s on an idle machine; the bound leaves room for a busy one (the suite runs on two
# cores), and the test also checks structurally that no highlighting was attempted.
FREEZE_MS = 3000

# Comments, strings, numbers, keywords, titles, built-ins, decorators: highlight.js's colours.
HIGHLIGHT_SAMPLE = """@cache
class Greeter(Base):  # a comment
    def greet(self, name: str = "you") -> None:
        print(f"Hello, {name}!", 42, True, None)
"""
RECORD_CSP_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) =>
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`));
"""
RECORD_LONG_TASKS = """
window.longTasks = [];
const observer = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.longTasks.push(entry.duration);
});
for (const type of ["longtask", "long-animation-frame"]) observer.observe({ type, buffered: true });
"""

# WCAG 2 contrast ratio of every visible text element against the background it sits on.
LOW_CONTRAST_TEXT = """
() => {
  const rgb = (color) => color.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => {
    const channel = (value) => {
      const c = value / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  const background = (element) => {
    for (let node = element; node; node = node.parentElement) {
      const color = getComputedStyle(node).backgroundColor;
      if (rgb(color)[3] !== 0) return color;
    }
    return "rgb(255, 255, 255)";
  };
  const ratio = (a, b) => {
    const [light, dark] = [luminance(rgb(a)), luminance(rgb(b))].sort((x, y) => y - x);
    return (light + 0.05) / (dark + 0.05);
  };
  return [...document.querySelectorAll("body *")]
    .filter((element) => element.checkVisibility() && [...element.childNodes]
      .some((node) => node.nodeType === Node.TEXT_NODE && node.textContent.trim()))
    .map((element) => [element.outerHTML.slice(0, 80),
                       ratio(getComputedStyle(element).color, background(element))])
    .filter(([, contrast]) => contrast < 4.5);
}
"""


def test_first_load_of_home_is_under_150_kb_compressed(page: Page) -> None:
    responses: list[Response] = []
    page.on("response", lambda response: responses.append(response))
    page.goto("/")
    page.wait_for_load_state("networkidle")

    sizes = {response.url: len(gzip.compress(response.body(), 9)) for response in responses}
    total = sum(sizes.values())
    FIRST_LOAD_REPORT.parent.mkdir(parents=True, exist_ok=True)
    FIRST_LOAD_REPORT.write_text(json.dumps({"gzip_bytes": total, "files": sizes}, indent=2))
    assert any(url.endswith(".js") for url in sizes), "the app's script was not loaded"
    assert total < FIRST_LOAD_BUDGET_BYTES


def test_pages_run_under_the_edge_csp_without_violations(page: Page) -> None:
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    response = page.goto("/")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy

    page.get_by_label("Long URL").fill("https://example.org/csp")
    page.get_by_role("button", name="Shorten").click()
    expect(page.get_by_role("img", name="QR code for", exact=False)).to_be_visible()
    page.goto("/#paste")
    page.get_by_role("textbox", name="Text", exact=True).fill("body { color: red; }\n")
    page.get_by_label("Syntax").select_option("css")
    page.get_by_role("button", name="Create paste").click()
    page.get_by_role("link", name="Open the paste").click()
    expect(page.locator("code[data-highlighted='yes']")).to_be_visible()
    page.goto("/#mine")
    expect(page.get_by_role("heading", name="My links and pastes")).to_be_visible()

    assert page.evaluate("window.cspViolations") == []


def test_link_can_be_shortened_and_copied_with_the_keyboard_alone(page: Page) -> None:
    page.goto("/")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "url":
            break
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.type("https://example.org/keyboard")
    page.keyboard.press("Enter")
    short_url = page.get_by_role("textbox", name="Short URL").input_value()

    page.get_by_role("button", name="Copy short URL").focus()
    page.keyboard.press("Enter")

    expect(page.get_by_role("button", name="Copy short URL")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == short_url


def test_skip_link_moves_focus_to_the_content_and_keeps_the_form(page: Page) -> None:
    page.goto("/")
    page.get_by_label("Long URL").fill("https://example.org/typed")
    page.get_by_role("link", name="Skip to content").focus()
    page.keyboard.press("Enter")

    expect(page.locator("main")).to_be_focused()
    expect(page.get_by_label("Long URL")).to_have_value("https://example.org/typed")


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


@pytest.mark.parametrize("section", SECTIONS)
def test_every_form_control_has_a_label(page: Page, section: str) -> None:
    page.goto(section)
    expect(page.locator("main h1")).to_be_visible()
    unlabelled = page.evaluate(
        """[...document.querySelectorAll("input, select, textarea, button")]
             .filter((control) => !(control.labels?.length || control.getAttribute("aria-label")
                                    || control.textContent.trim()))
             .map((control) => control.outerHTML)"""
    )
    assert unlabelled == []


def test_text_meets_wcag_aa_contrast(page: Page) -> None:
    page.goto("/")
    page.get_by_label("Long URL").fill("ftp://example.org/contrast")
    page.get_by_role("button", name="Shorten").click()
    expect(page.locator(".field-error").first).to_be_visible()
    page.get_by_label("Long URL").fill("https://example.org/contrast")
    page.get_by_role("button", name="Shorten").click()
    expect(page.get_by_role("textbox", name="Short URL")).to_be_visible()
    assert page.evaluate(LOW_CONTRAST_TEXT) == []
    page.goto("/#mine")
    expect(page.locator(".mine-item")).to_have_count(1)
    assert page.evaluate(LOW_CONTRAST_TEXT) == []
    create_paste(page, HIGHLIGHT_SAMPLE, syntax="python")
    page.get_by_role("link", name="Open the paste").click()
    expect(page.locator("code[data-highlighted='yes'] .hljs-comment")).to_be_visible()
    assert page.evaluate(LOW_CONTRAST_TEXT) == []


@pytest.mark.parametrize("section", SECTIONS)
def test_sections_fit_a_phone_screen_without_sideways_scrolling(page: Page, section: str) -> None:
    page.set_viewport_size(PHONE)
    page.goto(section)
    expect(page.locator("main h1")).to_be_visible()
    save_screenshot(page, f"phone-{section.strip('/#') or 'shorten'}")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_one_megabyte_paste_opens_without_freezing_the_page(page: Page, spito_url: str) -> None:
    line = "value = compute(alpha, beta, gamma)  # a line of a long generated file\n"
    content = line * (ONE_MEGABYTE // len(line))
    created = httpx.post(
        f"{spito_url}/api/v1/pastes", json={"content": content, "syntax": "python"}, timeout=30
    )
    assert created.status_code == 201, created.text
    page.add_init_script(RECORD_LONG_TASKS)

    page.goto(f"/p/{created.json()['id']}")

    expect(page.get_by_role("status").filter(has_text="without highlighting")).to_be_visible()
    expect(page.locator(".line-numbers")).to_contain_text(f"\n{content.count(chr(10))}")
    code = page.locator("pre.paste-code code")
    assert code.evaluate("code => code.textContent.length") == len(content)
    assert code.evaluate("code => code.childElementCount") == 0  # one text node, no token spans
    assert max(page.evaluate("window.longTasks"), default=0) < FREEZE_MS
