// "My links and pastes": what this browser created, with the delete tokens the API showed once.
// Kept only in this browser's local storage.
import type { Created } from "./api";
import { toEpochSeconds } from "./time";

export interface MyItem {
  kind: "link" | "paste";
  id: string;
  /** The short URL of a link, or the page of a paste. */
  url: string;
  /** The target of a link, or the first line of a paste. */
  label: string;
  createdAt: number;
  expiresAt: number | null;
  deleteToken: string;
}

const KEY = "spito.mine.v1";

export function listMine(): MyItem[] {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(KEY) ?? "[]");
    return Array.isArray(parsed) ? parsed.filter(isItem) : [];
  } catch {
    return [];
  }
}

/** Lists what the API just created, under the URL and label this browser shows for it. */
export function rememberCreated(
  kind: MyItem["kind"],
  created: Created,
  url: string,
  label: string,
): void {
  const item: MyItem = {
    kind,
    id: created.id,
    url,
    label,
    createdAt: toEpochSeconds(created.created_at) ?? Math.floor(Date.now() / 1000),
    expiresAt: toEpochSeconds(created.expires_at),
    deleteToken: created.delete_token,
  };
  save([item, ...listMine().filter((other) => other.id !== item.id)]);
}

export function forgetMine(id: string): void {
  save(listMine().filter((item) => item.id !== id));
}

function save(items: MyItem[]): void {
  try {
    localStorage.setItem(KEY, JSON.stringify(items));
  } catch {
    // Storage full or disabled (private mode): the item still works, it just isn't listed.
  }
}

function isItem(value: unknown): value is MyItem {
  if (!value || typeof value !== "object") return false;
  const item = value as Record<string, unknown>;
  return (
    (item.kind === "link" || item.kind === "paste") &&
    typeof item.id === "string" &&
    typeof item.url === "string" &&
    typeof item.deleteToken === "string"
  );
}
