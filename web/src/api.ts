// The Spito API v1 (same origin). Every failure becomes an ApiError carrying the problem JSON.

export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  [extension: string]: unknown;
}

export class ApiError extends Error {
  readonly problem: Problem;
  readonly retryAfterSeconds: number | null;

  constructor(problem: Problem, retryAfterSeconds: number | null) {
    super(problem.detail ?? problem.title ?? `HTTP ${problem.status}`);
    this.problem = problem;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  get status(): number {
    return this.problem.status;
  }
}

/** What the API answers for anything it creates. */
export interface Created {
  id: string;
  created_at: number;
  expires_at: number | null;
  delete_token: string;
}

export interface CreatedLink extends Created {
  short_url: string;
  url: string;
}

export interface CreatedPaste extends Created {
  url: string;
  raw_url: string;
  size: number;
}

export interface Paste {
  id: string;
  content: string | null;
  syntax: string | null;
  size: number;
  created_at: number;
  expires_at: number | null;
  burn_after_reading: boolean;
}

export interface Link {
  id: string;
  url: string;
  created_at: number;
  expires_at: number | null;
  clicks: number;
  bot_fetches: number;
  clicks_by_day: { date: string; clicks: number }[];
}

export const REPORT_REASONS = ["phishing", "malware", "spam", "illegal", "other"] as const;

export interface NewReport {
  id: string;
  reason: (typeof REPORT_REASONS)[number];
  details?: string;
}

export interface NewLink {
  url: string;
  slug?: string;
  expires_in?: number;
}

export interface NewPaste {
  content: string;
  syntax?: string;
  expires_in?: number;
  burn_after_reading?: boolean;
}

export const createLink = (link: NewLink): Promise<CreatedLink> =>
  request("POST", "/api/v1/links", link);

export const createPaste = (paste: NewPaste): Promise<CreatedPaste> =>
  request("POST", "/api/v1/pastes", paste);

export const getLink = (id: string): Promise<Link> =>
  request("GET", `/api/v1/links/${encodeURIComponent(id)}`);

export const reportItem = (report: NewReport): Promise<unknown> =>
  request("POST", "/api/v1/reports", report);

export const getPaste = (id: string): Promise<Paste> =>
  request("GET", `/api/v1/pastes/${encodeURIComponent(id)}`);

/** Returns the paste's content and deletes it: a burn-after-reading paste shows once. */
export const openBurnedPaste = (id: string): Promise<Paste> =>
  request("POST", `/api/v1/pastes/${encodeURIComponent(id)}/open`);

export const deleteItem = (
  kind: "link" | "paste",
  id: string,
  deleteToken: string,
): Promise<void> =>
  request("DELETE", `/api/v1/${kind}s/${encodeURIComponent(id)}`, undefined, {
    "X-Delete-Token": deleteToken,
  });

export const rawUrl = (id: string): string => `/${encodeURIComponent(id)}/raw`;

async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers: {
        Accept: "application/json",
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError({ status: 0, title: "Network error" }, null);
  }
  if (response.ok) {
    return (response.status === 204 ? undefined : await response.json()) as T;
  }
  throw new ApiError(await readProblem(response), retryAfter(response));
}

async function readProblem(response: Response): Promise<Problem> {
  try {
    const parsed: unknown = await response.json();
    if (parsed && typeof parsed === "object") {
      return { ...(parsed as Record<string, unknown>), status: response.status };
    }
  } catch {
    // Not JSON (a proxy's error page, say): the status alone still explains it.
  }
  return { status: response.status, title: response.statusText };
}

function retryAfter(response: Response): number | null {
  const seconds = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
  return Number.isFinite(seconds) ? seconds : null;
}
