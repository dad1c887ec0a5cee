// Spito's single-page app. Routes: "/" (shorten; "#paste" and "#mine" pick the other
// sections) and "/p/{id}" (a paste). Only these two paths belong to the app; every other
// path on the host is a short link or the API.
import "highlight.js/styles/github.css";
import "./styles.css";
import { minePage } from "./pages/mine";
import { newPastePage } from "./pages/paste-new";
import { pasteViewPage } from "./pages/paste-view";
import { shortenPage } from "./pages/shorten";
import { el } from "./dom";
import { pageHeading } from "./ui";

const main = document.querySelector<HTMLElement>("#main")!;
const PASTE_PATH = /^\/p\/([A-Za-z0-9_-]+)\/?$/;

async function render(moveFocus: boolean): Promise<void> {
  const section = currentSection();
  markCurrentNav(section);
  const pasteId = PASTE_PATH.exec(location.pathname)?.[1];
  if (pasteId) {
    document.title = "Paste · Spito";
    await pasteViewPage(main, pasteId);
  } else if (location.pathname !== "/" && location.pathname !== "/index.html") {
    document.title = "Not found · Spito";
    main.replaceChildren(
      pageHeading("Page not found"),
      el("p", {}, el("a", { href: "/" }, "Go to Spito's start page")),
    );
  } else if (section === "paste") {
    document.title = "New paste · Spito";
    await newPastePage(main);
  } else if (section === "mine") {
    document.title = "My links and pastes · Spito";
    minePage(main);
  } else {
    document.title = "Spito · short links and pastes";
    await shortenPage(main);
  }
  if (moveFocus) main.querySelector<HTMLElement>("h1")?.focus();
}

function currentSection(): string | null {
  if (location.pathname !== "/") return null;
  return location.hash.slice(1) || "shorten";
}

function markCurrentNav(section: string | null): void {
  for (const link of document.querySelectorAll<HTMLAnchorElement>("nav a[data-section]")) {
    if (link.dataset.section === section) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

/** App links navigate without reloading; everything else (short links, raw views) loads. */
document.addEventListener("click", (event) => {
  if (
    event.defaultPrevented ||
    event.button !== 0 ||
    event.metaKey ||
    event.ctrlKey ||
    event.shiftKey ||
    event.altKey
  )
    return;
  const link = (event.target as Element).closest?.("a");
  if (!link || link.target || link.origin !== location.origin) return;
  const isAppPath = link.pathname === "/" || PASTE_PATH.test(link.pathname);
  if (!isAppPath) return;
  event.preventDefault();
  if (link.href !== location.href) history.pushState(null, "", link.href);
  void render(true);
});

window.addEventListener("popstate", () => void render(true));

void render(false);
