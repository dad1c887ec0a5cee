// A link's clicks per day as a small bar chart for "My links and pastes". The bars show the
// shape by their height alone (no colour carries meaning); a screen reader gets a one-line
// summary of the chart and can open the same numbers as a table.
import type { Link } from "./api";
import { el, uniqueId } from "./dom";

const DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The last `DAYS` UTC days, oldest first, with their clicks (0 for days without any). */
function lastDays(link: Link, today: Date): { date: string; clicks: number }[] {
  const counted = new Map(link.clicks_by_day.map((day) => [day.date, day.clicks]));
  return Array.from({ length: DAYS }, (_, index) => {
    const date = new Date(today.getTime() - (DAYS - 1 - index) * DAY_MS).toISOString().slice(0, 10);
    return { date, clicks: counted.get(date) ?? 0 };
  });
}

export function clickChart(link: Link, today: Date = new Date()): HTMLElement {
  const days = lastDays(link, today);
  const total = days.reduce((sum, day) => sum + day.clicks, 0);
  const busiest = days.reduce((best, day) => (day.clicks > best.clicks ? day : best), days[0]!);
  const summary =
    total === 0
      ? `No clicks in the last ${DAYS} days.`
      : `${total} ${total === 1 ? "click" : "clicks"} in the last ${DAYS} days; ` +
        `the busiest day was ${busiest.date} with ${busiest.clicks}.`;
  const bots = `${link.bot_fetches} ${link.bot_fetches === 1 ? "fetch" : "fetches"} by bots and link previews not counted.`;
  const summaryId = uniqueId("clicks");
  const bars = el("div", { class: "click-bars", role: "img", "aria-describedby": summaryId });
  bars.setAttribute("aria-label", `Clicks per day, ${days[0]!.date} to ${days.at(-1)!.date}`);
  for (const day of days) {
    const bar = el("span", { class: "click-bar", title: `${day.date}: ${day.clicks}` });
    // CSSOM, not a style attribute: the page's Content-Security-Policy allows no inline style.
    bar.style.height = busiest.clicks ? `${(100 * day.clicks) / busiest.clicks}%` : "0";
    bars.append(bar);
  }
  const rows = days
    .filter((day) => day.clicks > 0)
    .map((day) =>
      el("tr", {}, el("th", { scope: "row" }, day.date), el("td", {}, String(day.clicks))),
    );
  return el(
    "figure",
    { class: "click-chart" },
    bars,
    el("figcaption", { id: summaryId }, `${summary} ${bots}`),
    rows.length
      ? el(
          "details",
          {},
          el("summary", {}, "Clicks per day as a table"),
          el(
            "table",
            {},
            el("caption", {}, `Clicks per day, last ${DAYS} days (days without clicks left out)`),
            el(
              "thead",
              {},
              el(
                "tr",
                {},
                el("th", { scope: "col" }, "Day (UTC)"),
                el("th", { scope: "col" }, "Clicks"),
              ),
            ),
            el("tbody", {}, ...rows),
          ),
        )
      : null,
  );
}
