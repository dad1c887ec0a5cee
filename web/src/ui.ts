// Building blocks shared by the pages: labelled fields with their error slot, a form's errors,
// copy buttons, the expiry choice, and announcements for screen readers.
import { el, uniqueId } from "./dom";
import { explain } from "./errors";
import type { ServiceLimits } from "./openapi";

type Control = HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement;

export interface Field<T extends HTMLElement> {
  wrapper: HTMLDivElement;
  control: T;
  showError(message: string): void;
  clearError(): void;
}

/** A control with its label, an optional hint and an error line, linked for screen readers. */
export function field<T extends Control>(label: string, control: T, hint?: string): Field<T> {
  control.id ||= uniqueId("field");
  const hintId = `${control.id}-hint`;
  const errorId = `${control.id}-error`;
  const error = el("p", { class: "field-error", id: errorId, hidden: true });
  const describedBy = hint ? `${hintId} ${errorId}` : errorId;
  control.setAttribute("aria-describedby", describedBy);
  const wrapper = el(
    "div",
    { class: "field" },
    el("label", { for: control.id }, label),
    hint ? el("p", { class: "field-hint", id: hintId }, hint) : null,
    control,
    error,
  );
  return {
    wrapper,
    control,
    showError(message) {
      error.textContent = message;
      error.hidden = false;
      control.setAttribute("aria-invalid", "true");
    },
    clearError() {
      error.textContent = "";
      error.hidden = true;
      control.removeAttribute("aria-invalid");
    },
  };
}

export interface FormErrors {
  /** Where a problem that concerns no single field is shown (placed above the submit button). */
  element: HTMLDivElement;
  clear(): void;
  /** Shows a failed request beside the field it concerns and focuses that field, else above. */
  show(error: unknown): void;
}

/** The errors of a form whose fields are named as the API names them. */
export function formErrors(fields: Readonly<Record<string, Field<Control>>>): FormErrors {
  const element = el("div", { class: "form-error" });
  return {
    element,
    clear() {
      for (const each of Object.values(fields)) each.clearError();
      element.replaceChildren();
    },
    show(error) {
      const { field: name, message } = explain(error, Object.keys(fields));
      const target = name === null ? undefined : fields[name];
      if (target) {
        target.showError(message);
        target.control.focus();
      } else {
        element.replaceChildren(alertBox(message));
      }
    },
  };
}

/** A checkbox with its label after it. */
export function checkbox(
  label: string,
  name: string,
): { wrapper: HTMLDivElement; control: HTMLInputElement } {
  const control = el("input", { type: "checkbox", name, id: uniqueId(name) });
  return {
    wrapper: el(
      "div",
      { class: "field field-check" },
      control,
      el("label", { for: control.id }, label),
    ),
    control,
  };
}

const EXPIRY_PRESETS: ReadonlyArray<[label: string, seconds: number]> = [
  ["10 minutes", 10 * 60],
  ["1 hour", 60 * 60],
  ["1 day", 24 * 60 * 60],
  ["1 week", 7 * 24 * 60 * 60],
  ["30 days", 30 * 24 * 60 * 60],
  ["1 year", 365 * 24 * 60 * 60],
];

/** Expiry presets within the service's limits; the selected one is `defaultSeconds`. */
export function expirySelect(limits: ServiceLimits, defaultSeconds: number): HTMLSelectElement {
  const select = el("select", { name: "expires_in" });
  for (const [label, seconds] of EXPIRY_PRESETS) {
    if (limits.expiresMin !== null && seconds < limits.expiresMin) continue;
    if (limits.expiresMax !== null && seconds > limits.expiresMax) continue;
    select.append(
      el("option", { value: String(seconds), selected: seconds === defaultSeconds }, label),
    );
  }
  return select;
}

/** A button that copies `text` and says so, politely, to screen readers too. */
export function copyButton(text: string, what: string): HTMLButtonElement {
  const button = el(
    "button",
    { type: "button", class: "button-secondary", "aria-label": `Copy ${what}` },
    "Copy",
  );
  button.addEventListener("click", async () => {
    const copied = await copyText(text);
    button.textContent = copied ? "Copied" : "Copy failed: select and copy by hand";
    announce(copied ? `${what} copied` : `Could not copy the ${what}`);
    window.setTimeout(() => (button.textContent = "Copy"), 2000);
  });
  return button;
}

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** A read-only value with a copy button, e.g. a short URL. */
export function copyableValue(label: string, value: string, what: string): HTMLDivElement {
  const output = el("input", {
    type: "text",
    readonly: true,
    value,
    class: "copy-value",
    id: uniqueId("copy"),
  });
  output.addEventListener("focus", () => output.select());
  return el(
    "div",
    { class: "field" },
    el("label", { for: output.id }, label),
    el("div", { class: "copy-row" }, output, copyButton(value, what)),
  );
}

let liveRegion: HTMLElement | null = null;

export function announce(message: string): void {
  if (!liveRegion) {
    liveRegion = el("div", { class: "visually-hidden", role: "status", "aria-live": "polite" });
    document.body.append(liveRegion);
  }
  liveRegion.textContent = "";
  window.setTimeout(() => liveRegion && (liveRegion.textContent = message), 50);
}

/** A page's heading; focused after client-side navigation so screen readers hear the change. */
export function pageHeading(text: string): HTMLHeadingElement {
  return el("h1", { tabindex: "-1" }, text);
}

export function alertBox(message: string): HTMLParagraphElement {
  return el("p", { class: "alert", role: "alert" }, message);
}

export function firstLine(text: string, max = 80): string {
  const line = text.split("\n", 1)[0]?.trim() ?? "";
  return line.length > max ? `${line.slice(0, max - 1)}…` : line || "(empty first line)";
}
