// Turns an API failure into words a person understands, and says which field it concerns.
import { ApiError } from "./api";

export interface Explained {
  /** The form field the problem concerns, when there is one. */
  field: string | null;
  message: string;
}

/** How the service's field names read in a sentence. */
const FIELD_NOUNS: Record<string, string> = {
  url: "The URL",
  slug: "The slug",
  content: "The text",
  syntax: "The syntax",
  expires_in: "The expiry",
};

/**
 * Explains a failure for a form with the given field names. The field is the problem's
 * `field` extension when there is one, else the field its detail is about (the service words
 * validation details as "url must …" or "Field 'url' …"), else what the status means for this
 * form (`fieldByStatus`, e.g. 409 on a link is the slug).
 */
export function explain(
  error: unknown,
  fields: readonly string[],
  fieldByStatus: Readonly<Record<number, string>> = {},
): Explained {
  if (!(error instanceof ApiError)) {
    return {
      field: null,
      message: "Something went wrong in the page. Your input is kept; please try again.",
    };
  }
  const field = fieldOf(error, fields) ?? fieldByStatus[error.status] ?? null;
  return { field, message: messageFor(error) };
}

function fieldOf(error: ApiError, fields: readonly string[]): string | null {
  const named = error.problem.field;
  if (typeof named === "string" && fields.includes(named)) return named;
  const detail = error.problem.detail ?? "";
  return (
    fields.find((name) => detail.startsWith(`${name} `) || detail.includes(`'${name}'`)) ?? null
  );
}

function messageFor(error: ApiError): string {
  const { status, detail } = error.problem;
  if (status === 0)
    return "Spito could not be reached. Check your connection; your input is kept, so try again.";
  if (status === 429) {
    const wait = error.retryAfterSeconds;
    const when = wait ? ` in ${duration(wait)}` : " shortly";
    return `You are creating things faster than Spito allows. Please try again${when}.`;
  }
  if (status >= 500)
    return "Spito had a problem on its side. Your input is kept; please try again in a moment.";
  if (detail) return sentence(detail);
  if (status === 404) return "It does not exist: it may have expired or been deleted.";
  if (status === 403) return "This browser's delete token was not accepted.";
  return error.problem.title ?? `The request failed (HTTP ${status}).`;
}

/** 45 → "45 seconds", 600 → "10 minutes", 7200 → "2 hours". */
function duration(seconds: number): string {
  const [amount, unit] =
    seconds < 90
      ? [seconds, "second"]
      : seconds < 90 * 60
        ? [Math.ceil(seconds / 60), "minute"]
        : [Math.ceil(seconds / 3600), "hour"];
  return `${amount} ${unit}${amount === 1 ? "" : "s"}`;
}

/** "url must start with http://" → "The URL must start with http://." */
function sentence(detail: string): string {
  const [first, ...rest] = detail.split(" ");
  const noun = first ? FIELD_NOUNS[first] : undefined;
  const text = noun ? [noun, ...rest].join(" ") : detail.charAt(0).toUpperCase() + detail.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}
