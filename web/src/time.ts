// Times from the API are epoch seconds (or ISO strings); shown in the reader's locale.

export function toEpochSeconds(value: number | string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "number") return value;
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? null : Math.floor(parsed / 1000);
}

export function formatExpiry(expiresAt: number | null): string {
  if (expiresAt === null) return "Never expires";
  const when = new Date(expiresAt * 1000);
  const verb = expiresAt * 1000 <= Date.now() ? "Expired" : "Expires";
  return `${verb} ${when.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" })}`;
}

export const isExpired = (expiresAt: number | null): boolean =>
  expiresAt !== null && expiresAt * 1000 <= Date.now();
