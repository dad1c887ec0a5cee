// View a paste at /p/{id}: line numbers, highlighting (in a worker), raw link, copy. A
// burn-after-reading paste is opened only after the reader confirms, and shown once. The text
// is shown at once, in blocks of lines; highlighting then colours it a block per frame.
import { ApiError, getPaste, openBurnedPaste, rawUrl, type Paste } from "../api";
import { el, setChildren } from "../dom";
import { explain } from "../errors";
import { blockFragments, HIGHLIGHT_MAX_CHARS, highlightInWorker } from "../highlight";
import { codeBlocks, lineBlocks, numberBlocks } from "../line-blocks";
import { forgetMine } from "../store";
import { PLAIN_TEXT, syntaxName } from "../syntax-names";
import { formatExpiry, toEpochSeconds } from "../time";
import { alertBox, announce, copyButton, pageHeading } from "../ui";

export async function pasteViewPage(main: HTMLElement, id: string): Promise<void> {
  main.replaceChildren(pageHeading("Paste"), el("p", { class: "muted" }, "Loading…"));
  let paste: Paste;
  try {
    paste = await getPaste(id);
  } catch (error) {
    showFailure(main, error);
    return;
  }
  if (paste.burn_after_reading && paste.content === null) {
    askBeforeBurning(main, paste);
  } else {
    showPaste(main, paste, false);
  }
}

function askBeforeBurning(main: HTMLElement, paste: Paste): void {
  const open = el("button", { type: "button" }, "Show it and delete it");
  const problem = el("div", { class: "form-error" });
  open.addEventListener("click", async () => {
    open.disabled = true;
    try {
      showPaste(main, await openBurnedPaste(paste.id), true);
      forgetMine(paste.id); // it no longer exists, so this browser stops listing it
      main.querySelector<HTMLElement>("h1")?.focus(); // the button that had focus is gone
    } catch (error) {
      if (error instanceof ApiError && [404, 410].includes(error.status)) showFailure(main, error);
      else problem.replaceChildren(alertBox(explain(error, []).message));
      open.disabled = false;
    }
  });
  main.replaceChildren(
    pageHeading("This paste burns after reading"),
    el("p", {}, "It can be shown only once: opening it deletes it, for you and for everyone else."),
    el(
      "p",
      { class: "muted" },
      `${paste.size.toLocaleString()} bytes. ${formatExpiry(toEpochSeconds(paste.expires_at))}.`,
    ),
    problem,
    open,
  );
  open.focus();
}

function showPaste(main: HTMLElement, paste: Paste, burned: boolean): void {
  const content = paste.content ?? "";
  const blocks = lineBlocks(content);
  const codeBlockElements = codeBlocks(blocks);
  const code = el("code", {}, ...codeBlockElements);
  const lines = el(
    "pre",
    { class: "line-numbers", "aria-hidden": "true" },
    ...numberBlocks(blocks),
  );
  const status = el("p", { class: "muted", role: "status" });
  setChildren(
    main,
    pageHeading(burned ? "Burned paste" : "Paste"),
    burned
      ? el(
          "p",
          { class: "alert", role: "alert" },
          "This paste has now been deleted. This is the only time it is shown: copy it if you need it.",
        )
      : null,
    el(
      "div",
      { class: "paste-toolbar" },
      el(
        "span",
        {},
        [
          syntaxName(paste.syntax),
          `${paste.size.toLocaleString()} bytes`,
          burned ? "Deleted" : formatExpiry(toEpochSeconds(paste.expires_at)),
        ].join(" · "),
      ),
      el(
        "span",
        { class: "paste-actions" },
        burned ? null : el("a", { href: rawUrl(paste.id), class: "button-secondary" }, "Raw"),
        copyButton(content, "paste"),
      ),
    ),
    el(
      "div",
      { class: "paste-body" },
      lines,
      el("pre", { class: "paste-code", tabindex: "0", "aria-label": "Paste content" }, code),
    ),
    status,
    // A burned paste is gone already: there is nothing left to report.
    burned ? null : reportDetails(paste.id),
  );
  void highlight(code, codeBlockElements, content, paste.syntax, status);
}

/** "Report this paste": the form is loaded the first time the reader opens it. */
function reportDetails(id: string): HTMLDetailsElement {
  const details = el(
    "details",
    { class: "report-details" },
    el("summary", {}, "Report this paste"),
  );
  details.addEventListener(
    "toggle",
    async () => details.append((await import("./report")).reportForm(id)),
    { once: true },
  );
  return details;
}

async function highlight(
  code: HTMLElement,
  blocks: readonly HTMLElement[],
  content: string,
  syntax: string | null,
  status: HTMLElement,
): Promise<void> {
  if (!syntax || syntax === PLAIN_TEXT) return;
  if (content.length > HIGHLIGHT_MAX_CHARS) {
    status.textContent = `Shown without highlighting: it is longer than ${HIGHLIGHT_MAX_CHARS.toLocaleString()} characters.`;
    return;
  }
  const runs = await highlightInWorker(content, syntax);
  if (!runs) return;
  code.classList.add("hljs", `language-${syntax}`);
  const lengths = blocks.map((block) => block.textContent.length);
  let index = 0;
  for (const fragment of blockFragments(runs, lengths)) {
    if (!code.isConnected) return; // the reader has moved on
    blocks[index++]!.replaceChildren(fragment);
    await nextFrame();
  }
  code.dataset.highlighted = "yes";
}

const nextFrame = (): Promise<void> =>
  new Promise((resolve) => requestAnimationFrame(() => resolve()));

function showFailure(main: HTMLElement, error: unknown): void {
  if (error instanceof ApiError && error.status === 410) {
    // Held after reports, or taken down: the service's detail says which and why.
    const held = error.problem.type === "urn:spito:problem:held";
    main.replaceChildren(
      pageHeading(held ? "This paste is held for review" : "This paste was removed"),
      el("p", {}, error.problem.detail ?? "It was removed by Spito's operators."),
      el("p", {}, "Its content is kept for Spito's operators and is not shown to anyone."),
      el("p", {}, el("a", { href: "/#paste" }, "Create a new paste")),
    );
  } else if (error instanceof ApiError && error.status === 404) {
    main.replaceChildren(
      pageHeading("This paste is gone"),
      el(
        "p",
        {},
        "It does not exist: it may have expired, been deleted, or been burned after reading.",
      ),
      el("p", {}, el("a", { href: "/#paste" }, "Create a new paste")),
    );
  } else {
    main.replaceChildren(pageHeading("Paste"), alertBox(explain(error, []).message));
  }
  announce("Paste not shown");
}
