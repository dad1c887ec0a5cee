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
  burn_after_reading: "Burn after reading",
};

/**
 * Explains a failure for a form with the given field names. The field is the problem's
 * `field` extension member, which the service sets on every problem about one request field,
 * when the form has that field.
 */
export function explain(error: unknown, fields: readonly string[]): Explained {
  if (!(error instanceof ApiError)) {
    return {
      field: null,
      message: "Something went wrong in the page. Your input is kept; please try again.",
    };
  }
  const named = error.problem.field;
  const field = typeof named === "string" ? named : null;
  return {
    field: field !== null && fields.includes(field) ? field : null,
    message: messageFor(error, field),
  };
}

function messageFor(error: ApiError, field: string | null): string {
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
  if (detail) return sentence(detail, field);
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

/**
 * A field's detail starts with the field's name: "url must start with http://" (field `url`)
 * → "The URL must start with http://."
 */
function sentence(detail: string, field: string | null): string {
  const noun = field === null ? undefined : FIELD_NOUNS[field];
  const text =
    field !== null && noun !== undefined && detail.startsWith(`${field} `)
      ? noun + detail.slice(field.length)
      : detail.charAt(0).toUpperCase() + detail.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}
