// Create a paste: text, syntax from the service's allowlist, expiry, burn after reading.
import { createPaste, type CreatedPaste } from "../api";
import { el, setChildren } from "../dom";
import { serviceLimits } from "../openapi";
import { rememberCreated } from "../store";
import { PLAIN_TEXT, syntaxName } from "../syntax-names";
import { formatExpiry, toEpochSeconds } from "../time";
import {
  announce,
  checkbox,
  copyableValue,
  expirySelect,
  field,
  firstLine,
  formErrors,
  pageHeading,
} from "../ui";

const ONE_WEEK = 7 * 24 * 60 * 60;

export async function newPastePage(main: HTMLElement): Promise<void> {
  const limits = await serviceLimits();
  const content = field(
    "Text",
    el("textarea", {
      name: "content",
      rows: "14",
      required: true,
      spellcheck: "false",
      autocapitalize: "off",
    }),
  );
  const syntax = field("Syntax", syntaxSelect(limits.syntaxes));
  const expiry = field("Expires after", expirySelect(limits, ONE_WEEK));
  const burn = checkbox(
    "Burn after reading: delete it the first time it is opened",
    "burn_after_reading",
  );
  const errors = formErrors({ content, syntax, expires_in: expiry });
  const result = el("section", { class: "result", "aria-label": "Your paste", hidden: true });
  const submit = el("button", { type: "submit" }, "Create paste");
  const form = el(
    "form",
    { novalidate: true, "aria-label": "Create a paste" },
    content.wrapper,
    el("div", { class: "field-row" }, syntax.wrapper, expiry.wrapper),
    burn.wrapper,
    errors.element,
    submit,
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.clear();
    const text = content.control.value;
    if (!text) {
      content.showError("Write or paste some text first.");
      content.control.focus();
      return;
    }
    submit.disabled = true;
    try {
      const paste = await createPaste({
        content: text,
        syntax: syntax.control.value,
        expires_in: Number(expiry.control.value),
        burn_after_reading: burn.control.checked,
      });
      rememberCreated("paste", paste, paste.url, firstLine(text));
      showResult(result, paste, burn.control.checked);
      form.reset();
      expiry.control.value = String(ONE_WEEK);
    } catch (error) {
      errors.show(error);
    } finally {
      submit.disabled = false;
    }
  });

  main.replaceChildren(pageHeading("Create a paste"), form, result);
}

/** The service's allowlist, plain text first; only plain text if the list could not be read. */
function syntaxSelect(syntaxes: readonly string[]): HTMLSelectElement {
  const select = el(
    "select",
    { name: "syntax" },
    el("option", { value: PLAIN_TEXT }, syntaxName(PLAIN_TEXT)),
  );
  const others = syntaxes.filter((name) => name !== PLAIN_TEXT);
  others.sort((a, b) => syntaxName(a).localeCompare(syntaxName(b)));
  for (const name of others) select.append(el("option", { value: name }, syntaxName(name)));
  return select;
}

function showResult(result: HTMLElement, paste: CreatedPaste, burnAfterReading: boolean): void {
  const heading = el("h2", { tabindex: "-1" }, "Your paste");
  setChildren(
    result,
    heading,
    copyableValue("Page URL", paste.url, "page URL"),
    burnAfterReading
      ? el(
          "p",
          {},
          "It burns after reading: the first person to open the page sees it, then it is deleted. It has no raw URL.",
        )
      : copyableValue("Raw URL", paste.raw_url, "raw URL"),
    el(
      "p",
      { class: "muted" },
      `${paste.size.toLocaleString()} bytes. ${formatExpiry(toEpochSeconds(paste.expires_at))}. Listed under `,
      el("a", { href: "/#mine" }, "My links and pastes"),
      ".",
    ),
    burnAfterReading
      ? null
      : el("p", {}, el("a", { href: `/p/${encodeURIComponent(paste.id)}` }, "Open the paste")),
  );
  result.hidden = false;
  heading.focus();
  announce("Paste created");
}
