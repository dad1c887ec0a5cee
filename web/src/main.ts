// Spito's single-page app. Routes: "/" (shorten; "#paste", "#mine" and "#report" pick the
// other sections) and "/p/{id}" (a paste). Only these two paths belong to the app; every other
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
const SECTIONS = ["shorten", "paste", "mine", "report"] as const;

type Route =
  | { view: (typeof SECTIONS)[number] }
  | { view: "paste-view"; pasteId: string }
  | { view: "not-found" };

/** The route of the current address; a hash that names no section (e.g. #main) is the home. */
function currentRoute(): Route {
  const pasteId = PASTE_PATH.exec(location.pathname)?.[1];
  if (pasteId) return { view: "paste-view", pasteId };
  if (location.pathname !== "/" && location.pathname !== "/index.html")
    return { view: "not-found" };
  const section = SECTIONS.find((name) => `#${name}` === location.hash);
  return { view: section ?? "shorten" };
}

let rendered = "";

async function render(route: Route, moveFocus: boolean): Promise<void> {
  rendered = JSON.stringify(route);
  markCurrentNav(route.view);
  switch (route.view) {
    case "paste-view":
      document.title = "Paste · Spito";
      await pasteViewPage(main, route.pasteId);
      break;
    case "not-found":
      document.title = "Not found · Spito";
      main.replaceChildren(
        pageHeading("Page not found"),
        el("p", {}, el("a", { href: "/" }, "Go to Spito's start page")),
      );
      break;
    case "paste":
      document.title = "New paste · Spito";
      await newPastePage(main);
      break;
    case "mine":
      document.title = "My links and pastes · Spito";
      minePage(main);
      break;
    case "report":
      document.title = "Report a link or paste · Spito";
      // Loaded when first wanted, as the QR encoder is: the home page's first load stays small.
      (await import("./pages/report")).reportPage(main);
      break;
    case "shorten":
      document.title = "Spito · short links and pastes";
      await shortenPage(main);
      break;
  }
  if (moveFocus) main.querySelector<HTMLElement>("h1")?.focus();
}

function markCurrentNav(view: Route["view"]): void {
  for (const link of document.querySelectorAll<HTMLAnchorElement>("nav a[data-section]")) {
    if (link.dataset.section === view) link.setAttribute("aria-current", "page");
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
  if (link.classList.contains("skip-link")) {
    // Moves focus only: re-rendering would reset forms and could re-open a burned paste.
    event.preventDefault();
    main.focus();
    return;
  }
  const isAppPath = link.pathname === "/" || PASTE_PATH.test(link.pathname);
  if (!isAppPath) return;
  event.preventDefault();
  if (link.href !== location.href) history.pushState(null, "", link.href);
  void render(currentRoute(), true);
});

/** Back and forward; a hash change that keeps the route (an in-page anchor) keeps the page. */
window.addEventListener("popstate", () => {
  const route = currentRoute();
  if (JSON.stringify(route) !== rendered) void render(route, true);
});

void render(currentRoute(), false);
