// "My links and pastes": what this browser created, with the delete tokens the API showed once.
// Kept only in this browser's local storage.

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

export function rememberMine(item: MyItem): void {
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
