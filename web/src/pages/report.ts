// Reporting a harmful link or paste: the page at "/#report" (by short URL or id) and the form
// a paste's page offers for itself. Reports go to POST /api/v1/reports; an item several
// people report is held until Spito's operators decide (docs/OPERATIONS.md#abuse).
import { REPORT_REASONS, reportItem, type NewReport } from "../api";
import { el } from "../dom";
import { announce, field, formErrors, pageHeading } from "../ui";

const REASON_LABELS: Record<NewReport["reason"], string> = {
  phishing: "Phishing: it pretends to be someone to steal logins or money",
  malware: "Malware: it leads to or contains harmful software",
  spam: "Spam",
  illegal: "Illegal content",
  other: "Something else (say what below)",
};
const ID = /^[A-Za-z0-9_-]{3,64}$/;

export function reportPage(main: HTMLElement): void {
  main.replaceChildren(
    pageHeading("Report a short link or paste"),
    el(
      "p",
      {},
      "If a Spito link or paste is used for phishing, malware, spam or something illegal, " +
        "tell Spito's operators here. Spito keeps no record of who you are.",
    ),
    reportForm(null),
  );
}

/** The report form; for a known item (a paste's page) the id is fixed and not asked for. */
export function reportForm(fixedId: string | null): HTMLElement {
  const id = field(
    "Short link or id",
    el("input", { type: "text", name: "id", autocomplete: "off", spellcheck: "false" }),
    "The short link as you received it (like https://spito.example/Ab3dEf7h), or its id.",
  );
  const reason = field("What is wrong with it", el("select", { name: "reason" }));
  for (const value of REPORT_REASONS)
    reason.control.append(el("option", { value }, REASON_LABELS[value]));
  const details = field(
    "Details (optional)",
    el("textarea", { name: "details", rows: "3", maxlength: "1000" }),
    "Up to 1,000 characters: what it imitates, where you saw it.",
  );
  const errors = formErrors({ id, reason, details });
  const submit = el("button", { type: "submit" }, "Send report");
  const form = el(
    "form",
    { novalidate: true, "aria-label": "Report" },
    fixedId === null ? id.wrapper : null,
    reason.wrapper,
    details.wrapper,
    errors.element,
    submit,
  );
  const done = el("p", { class: "report-done", role: "status", hidden: true });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.clear();
    const target = fixedId ?? idOf(id.control.value);
    if (target === null) {
      id.showError("Enter the short link or its id, like Ab3dEf7h.");
      id.control.focus();
      return;
    }
    submit.disabled = true;
    try {
      await reportItem({
        id: target,
        reason: reason.control.value as NewReport["reason"],
        details: details.control.value.trim() || undefined,
      });
      form.hidden = true;
      done.textContent =
        `Thank you: your report of ${target} was received. Spito's operators review reports, ` +
        "and an item several people report is taken offline until they do.";
      done.hidden = false;
      announce("Report sent");
    } catch (error) {
      errors.show(error);
    } finally {
      submit.disabled = false;
    }
  });
  return el("div", { class: "report" }, form, done);
}

/** The id in a short link (https://host/ID, https://host/p/ID) or a bare id; null if none. */
function idOf(text: string): string | null {
  const value = text.trim();
  if (ID.test(value)) return value;
  try {
    // Short links are /ID, /ID/raw and /p/ID.
    const [first = "", second = ""] = new URL(value).pathname.split("/").filter(Boolean);
    const candidate = first === "p" ? second : first;
    return ID.test(candidate) ? candidate : null;
  } catch {
    return null;
  }
}
