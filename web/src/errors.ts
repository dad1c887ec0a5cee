// Turns an API failure into words a person understands, and says which field it concerns.
import { ApiError } from "./api";

export interface Explained {
  /** The form field the problem concerns, when there is one. */
  field: string | null;
  message: string;
}

/**
 * Explains a failure for a form with the given field names. The field comes from the problem's
 * `field` extension when the service sends one, else from its type (".../invalid-slug" names
 * `slug`), else from what the status means for that form.
 */
export function explain(error: unknown, fields: readonly string[], fieldByStatus: Record<number, string> = {}): Explained {
  if (!(error instanceof ApiError)) {
    return { field: null, message: "Something went wrong in the page. Your input is kept; please try again." };
  }
  const field = fieldOf(error, fields) ?? fieldByStatus[error.status] ?? null;
  return { field, message: messageFor(error) };
}

function fieldOf(error: ApiError, fields: readonly string[]): string | null {
  const named = error.problem.field;
  if (typeof named === "string" && fields.includes(named)) return named;
  const slug = (error.problem.type ?? "").split("/").pop() ?? "";
  const words = slug.split(/[-_]/);
  return fields.find((candidate) => words.includes(candidate.replace(/_/g, ""))) ?? fields.find((candidate) => words.includes(candidate)) ?? null;
}

function messageFor(error: ApiError): string {
  const { status, detail } = error.problem;
  if (status === 0) return "Spito could not be reached. Check your connection; your input is kept, so try again.";
  if (status === 429) {
    const wait = error.retryAfterSeconds;
    return `You are creating things faster than Spito allows. Please try again${wait ? ` in ${wait} second${wait === 1 ? "" : "s"}` : " shortly"}.`;
  }
  if (status >= 500) return "Spito had a problem on its side. Your input is kept; please try again in a moment.";
  if (detail) return detail;
  if (status === 404) return "It does not exist: it may have expired or been deleted.";
  if (status === 403) return "This browser's delete token was not accepted.";
  return error.problem.title ?? `The request failed (HTTP ${status}).`;
}
