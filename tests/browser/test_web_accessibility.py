"""Accessibility as docs/WEB-APP.md claims it, on every page and state a person meets: labels on
every control, the keyboard alone, a visible focus ring, WCAG AA contrast, a 360 px phone screen."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.browser.conftest import context_for
from tests.browser.helpers import (
    MAX_TAB_STOPS,
    create_paste,
    create_paste_by_api,
    paste_url_shown,
    save_screenshot,
    short_url_shown,
    shorten,
    tab_to,
    wait_for_qr_code,
)

pytestmark = pytest.mark.browser

PHONE: ViewportSize = {"width": 360, "height": 740}
# Comments, strings, numbers, keywords, titles, built-ins, decorators: highlight.js's colours; the
# long line must scroll inside the paste, not the page.
HIGHLIGHT_SAMPLE = """@cache
class Greeter(Base):  # a comment
    def greet(self, name: str = "you") -> None:
        print(f"Hello, {name}!", 42, True, None)
        return "a long line that goes on and on, far past the width of a phone screen, and more"
"""
LONG_URL = "https://example.org/" + "a-long-path-segment/" * 8 + "?query=that-goes-on"

# WCAG 2 relative luminance and contrast ratio, and the colour an element is drawn on.
COLOURS = """
const rgb = (color) => color.match(/[\\d.]+/g).map(Number);
const luminance = ([r, g, b]) => {
  const channel = (value) => {
    const c = value / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
};
const backgroundOf = (element) => {
  for (let node = element; node; node = node.parentElement) {
    const color = getComputedStyle(node).backgroundColor;
    if (rgb(color)[3] !== 0) return color;
  }
  return "rgb(255, 255, 255)";
};
const contrast = (a, b) => {
  const [light, dark] = [luminance(rgb(a)), luminance(rgb(b))].sort((x, y) => y - x);
  return (light + 0.05) / (dark + 0.05);
};
const describe = (element) => element.outerHTML.slice(0, 100);
"""
# Every visible text, and every filled-in control's value, under 4.5:1 against its background.
LOW_CONTRAST_TEXT = f"""() => {{
  {COLOURS}
  const hasText = (element) =>
    [...element.childNodes].some((node) => node.nodeType === Node.TEXT_NODE
                                           && node.textContent.trim())
    || (element.matches("input, select, textarea") && element.value);
  return [...document.querySelectorAll("body *")]
    .filter((element) => element.checkVisibility() && hasText(element))
    .map((element) => [describe(element),
                       contrast(getComputedStyle(element).color, backgroundOf(element))])
    .filter(([, ratio]) => ratio < 4.5);
}}"""
# The focused element's ring: an outline at least 2 px wide, 3:1 against what it is drawn on.
FOCUS_RING = f"""() => {{
  {COLOURS}
  const element = document.activeElement;
  const style = getComputedStyle(element);
  return {{
    element: element === document.body ? null : describe(element),
    index: [...document.querySelectorAll("*")].indexOf(element),
    visible: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2
      && contrast(style.outlineColor, backgroundOf(element.parentElement)) >= 3,
  }};
}}"""
# Everything a person can reach or that shows an image, without a name a screen reader says: a
# form control needs a label (its options or value are not its name), anything else a label or
# its text.
UNNAMED = """() => [...document.querySelectorAll(
    "a[href], button, input, select, textarea, [tabindex], [role=img]")]
  .filter((element) => element.checkVisibility()
                       && (element.tabIndex >= 0 || element.getAttribute("role") === "img"))
  .filter((element) => !(element.labels?.length || element.getAttribute("aria-label")?.trim()
                         || element.getAttribute("aria-labelledby")
                         || (!element.matches("input, select, textarea")
                             && element.textContent.trim())))
  .map((element) => element.outerHTML.slice(0, 100))"""


def shorten_form(page: Page, spito_url: str) -> None:
    page.goto("/")
    expect(page.get_by_label("Long URL")).to_be_visible()


def shorten_field_error(page: Page, spito_url: str) -> None:
    shorten(page, "ftp://example.org/not-a-web-address")
    expect(page.locator(".field-error").first).to_be_visible()


def shorten_unreachable_alert(page: Page, spito_url: str) -> None:
    page.route("**/api/v1/links", lambda route: route.abort())
    shorten(page, "https://example.org/unreachable")
    expect(page.get_by_role("alert")).to_contain_text("could not be reached")


def shorten_result(page: Page, spito_url: str) -> None:
    shorten(page, LONG_URL)
    wait_for_qr_code(page)


def paste_form(page: Page, spito_url: str) -> None:
    page.goto("/#paste")
    expect(page.get_by_label("Syntax")).to_be_visible()


def paste_result(page: Page, spito_url: str) -> None:
    create_paste(page, HIGHLIGHT_SAMPLE, syntax="python")
    expect(page.get_by_role("link", name="Open the paste")).to_be_visible()


def burn_paste_result(page: Page, spito_url: str) -> None:
    create_paste(page, "read me once", syntax="text", burn=True)
    expect(page.get_by_text("It burns after reading")).to_be_visible()


def paste_view(page: Page, spito_url: str) -> None:
    page.goto(f"/p/{create_paste_by_api(spito_url, HIGHLIGHT_SAMPLE, syntax='python')['id']}")
    expect(page.locator("code[data-highlighted='yes'] .hljs-comment")).to_be_visible()


def burn_confirm(page: Page, spito_url: str) -> None:
    page.goto(f"/p/{create_paste_by_api(spito_url, 'read me once', burn=True)['id']}")
    expect(page.get_by_role("button", name="Show it and delete it")).to_be_visible()


def burn_shown(page: Page, spito_url: str) -> None:
    burn_confirm(page, spito_url)
    page.get_by_role("button", name="Show it and delete it").click()
    expect(page.get_by_role("alert")).to_contain_text("has now been deleted")


def paste_gone(page: Page, spito_url: str) -> None:
    page.goto("/p/no-such-paste")
    expect(page.get_by_role("heading", name="This paste is gone")).to_be_visible()


def mine_empty(page: Page, spito_url: str) -> None:
    page.goto("/#mine")
    expect(page.get_by_text("Nothing yet.")).to_be_visible()


def mine_with_items(page: Page, spito_url: str) -> None:
    shorten(page, LONG_URL)
    expect(page.get_by_role("textbox", name="Short URL")).to_be_visible()
    create_paste(page, HIGHLIGHT_SAMPLE, syntax="python")
    expect(page.get_by_role("textbox", name="Page URL")).to_be_visible()
    page.goto("/#mine")
    expect(page.locator(".mine-item")).to_have_count(2)


STATES: dict[str, Callable[[Page, str], None]] = {
    state.__name__.replace("_", "-"): state
    for state in (
        shorten_form,
        shorten_field_error,
        shorten_unreachable_alert,
        shorten_result,
        paste_form,
        paste_result,
        burn_paste_result,
        paste_view,
        burn_confirm,
        burn_shown,
        paste_gone,
        mine_empty,
        mine_with_items,
    )
}
every_state = pytest.mark.parametrize("state", STATES)


@pytest.fixture(scope="module", params=list(STATES))
def state_page(request: pytest.FixtureRequest, browser: Browser, spito_url: str) -> Iterator[Page]:
    """A page brought into one state once, at desktop width, for every check of that state.

    The checks only read the page, but the focus-ring walk, which moves the focus: it comes last
    in this module, so it runs last on each state. `make test` keeps a file's tests on one xdist
    worker (`--dist loadfile`), so each state is built once.
    """
    with context_for(browser, spito_url) as context:
        page = context.new_page()
        STATES[request.param](page, spito_url)
        yield page


def test_everything_a_person_can_reach_has_a_name(state_page: Page) -> None:
    assert state_page.evaluate(UNNAMED) == []


def test_text_meets_wcag_aa_contrast(state_page: Page) -> None:
    assert state_page.evaluate(LOW_CONTRAST_TEXT) == []


@every_state
def test_page_fits_a_phone_screen_without_sideways_scrolling(
    page: Page, spito_url: str, state: str
) -> None:
    page.set_viewport_size(PHONE)
    STATES[state](page, spito_url)
    save_screenshot(page, f"phone-{state}")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_every_tab_stop_shows_a_focus_ring(state_page: Page) -> None:
    stops: dict[int, dict[str, object]] = {}
    for _ in range(MAX_TAB_STOPS):
        state_page.keyboard.press("Tab")
        stop = state_page.evaluate(FOCUS_RING)
        if stop["element"] is None:
            continue  # past the last stop: the next Tab starts again at the top
        if stop["index"] in stops:
            break  # round once
        stops[stop["index"]] = stop
    else:
        pytest.fail(f"Tab did not come round in {MAX_TAB_STOPS} presses")
    assert len(stops) >= 5, stops  # at least the skip link, the brand and the three sections
    assert [stop["element"] for stop in stops.values() if not stop["visible"]] == []


def test_skip_link_moves_focus_to_the_content_and_keeps_the_form(page: Page) -> None:
    page.goto("/")
    page.get_by_label("Long URL").fill("https://example.org/typed")
    page.get_by_role("link", name="Skip to content").focus()
    page.keyboard.press("Enter")

    expect(page.locator("main")).to_be_focused()
    expect(page.get_by_label("Long URL")).to_have_value("https://example.org/typed")


def test_link_can_be_shortened_and_copied_with_the_keyboard_alone(page: Page) -> None:
    page.goto("/")
    tab_to(page, page.get_by_label("Long URL"))
    page.keyboard.type("https://example.org/keyboard")
    page.keyboard.press("Enter")
    short_url = short_url_shown(page)

    tab_to(page, page.get_by_role("button", name="Copy short URL"))
    page.keyboard.press("Enter")

    expect(page.get_by_role("button", name="Copy short URL")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == short_url


def test_paste_can_be_created_and_opened_with_the_keyboard_alone(page: Page) -> None:
    text = "def greet():\n    return 'typed, not pasted'\n"
    page.goto("/#paste")
    tab_to(page, page.get_by_role("textbox", name="Text", exact=True))
    page.keyboard.type(text)
    page.keyboard.press("Tab")
    syntax = page.get_by_label("Syntax")
    expect(syntax).to_be_focused()
    for _ in range(MAX_TAB_STOPS):  # a closed select steps through its options with the arrows
        if syntax.input_value() == "python":
            break
        page.keyboard.press("ArrowDown")
    tab_to(page, page.get_by_role("button", name="Create paste"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Your paste")).to_be_focused()

    tab_to(page, page.get_by_role("link", name="Open the paste"))
    page.keyboard.press("Enter")

    code = page.locator("pre.paste-code code[data-highlighted='yes']")
    expect(code).to_have_text(text)
    expect(code.locator(".hljs-keyword").first).to_have_text("def")


def test_burn_after_reading_paste_opens_with_the_keyboard_alone(page: Page, spito_url: str) -> None:
    paste = create_paste_by_api(spito_url, "the keyboard opened me", burn=True)
    page.goto(f"/p/{paste['id']}")

    tab_to(page, page.get_by_role("button", name="Show it and delete it"))
    page.keyboard.press("Enter")

    expect(page.locator("pre.paste-code")).to_have_text("the keyboard opened me")
    expect(page.get_by_role("heading", name="Burned paste")).to_be_focused()


def test_item_can_be_deleted_from_my_links_and_pastes_with_the_keyboard_alone(page: Page) -> None:
    create_paste(page, "delete me with the keyboard", syntax="text")
    paste_id = paste_url_shown(page).rsplit("/", 1)[1]
    page.goto("/#mine")
    item = page.locator(f"li[data-id='{paste_id}']")
    expect(item).to_be_visible()

    tab_to(page, item.get_by_role("button", name=f"Delete paste {paste_id}"))
    page.once("dialog", lambda dialog: dialog.accept())  # the confirmation's OK
    page.keyboard.press("Enter")

    expect(item).to_have_count(0)
    expect(page.get_by_role("heading", name="My links and pastes")).to_be_focused()
