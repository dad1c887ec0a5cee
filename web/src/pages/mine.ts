// "My links and pastes": what this browser made, each with a delete button.
import { ApiError, deleteItem, getLink } from "../api";
import { el } from "../dom";
import { explain } from "../errors";
import { forgetMine, listMine, type MyItem } from "../store";
import { formatExpiry, isExpired } from "../time";
import { announce, pageHeading } from "../ui";
import { printableUrl } from "../urls";

export function minePage(main: HTMLElement): void {
  const items = listMine();
  const list = el("ul", { class: "mine-list" });
  for (const item of items) list.append(row(item));
  main.replaceChildren(
    pageHeading("My links and pastes"),
    el(
      "p",
      { class: "muted" },
      "What this browser created, with the delete tokens Spito showed once. They are kept only in this browser.",
    ),
    items.length
      ? list
      : el(
          "p",
          {},
          "Nothing yet. ",
          el("a", { href: "/" }, "Shorten a link"),
          " or ",
          el("a", { href: "/#paste" }, "create a paste"),
          ".",
        ),
  );
}

function row(item: MyItem): HTMLLIElement {
  const kindLabel = item.kind === "link" ? "Link" : "Paste";
  const problem = el("p", { class: "field-error", hidden: true });
  const remove = el(
    "button",
    {
      type: "button",
      class: "button-danger",
      "aria-label": `Delete ${kindLabel.toLowerCase()} ${item.id}`,
    },
    "Delete",
  );
  const li = el(
    "li",
    { class: "mine-item", "data-id": item.id },
    el("span", { class: `badge badge-${item.kind}` }, kindLabel),
    el(
      "div",
      { class: "mine-text" },
      el(
        "a",
        { href: item.kind === "paste" ? `/p/${encodeURIComponent(item.id)}` : item.url },
        item.url,
      ),
      // A link's label is its target, shown as the service stores targets today.
      el(
        "span",
        { class: "mine-label" },
        item.kind === "link" ? printableUrl(item.label) : item.label,
      ),
      el("span", { class: "muted" }, formatExpiry(item.expiresAt)),
      problem,
    ),
    remove,
  );
  if (item.kind === "link") void showClicks(li, item.id);
  remove.addEventListener("click", async () => {
    if (!window.confirm(`Delete ${kindLabel.toLowerCase()} ${item.id}? This cannot be undone.`))
      return;
    remove.disabled = true;
    try {
      await deleteItem(item.kind, item.id, item.deleteToken);
      removeRow(li, item, `${kindLabel} ${item.id} deleted`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        removeRow(
          li,
          item,
          `${kindLabel} ${item.id} had already ${isExpired(item.expiresAt) ? "expired" : "gone"}; removed from the list`,
        );
        return;
      }
      problem.textContent = explain(error, []).message;
      problem.hidden = false;
      remove.disabled = false;
    }
  });
  return li;
}

/** Adds the link's clicks per day under its row; a link that is gone shows nothing. */
async function showClicks(li: HTMLLIElement, id: string): Promise<void> {
  try {
    const [link, { clickChart }] = await Promise.all([getLink(id), import("../click-chart")]);
    li.querySelector(".mine-text")?.append(clickChart(link));
  } catch {
    // Expired, deleted or unreachable: the row already says what is known.
  }
}

function removeRow(li: HTMLLIElement, item: MyItem, message: string): void {
  forgetMine(item.id);
  const next = (li.nextElementSibling ?? li.previousElementSibling)?.querySelector("button");
  li.remove();
  (next ?? document.querySelector<HTMLElement>("main h1"))?.focus();
  announce(message);
}
