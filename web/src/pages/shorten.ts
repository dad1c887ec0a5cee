// Shorten a link: URL, optional slug, expiry; the result with a copy button and a QR code.
import { createLink, type CreatedLink } from "../api";
import { el } from "../dom";
import { serviceLimits } from "../openapi";
import { rememberCreated } from "../store";
import { formatExpiry, toEpochSeconds } from "../time";
import { printableUrl } from "../urls";
import { announce, copyableValue, expirySelect, field, formErrors, pageHeading } from "../ui";

const ONE_YEAR = 365 * 24 * 60 * 60;

export async function shortenPage(main: HTMLElement): Promise<void> {
  const limits = await serviceLimits();
  const url = field(
    "Long URL",
    el("input", {
      type: "url",
      name: "url",
      required: true,
      autocomplete: "url",
      inputmode: "url",
      placeholder: "https://example.com/a/long/path",
    }),
  );
  const slug = field(
    "Custom slug (optional)",
    el("input", {
      type: "text",
      name: "slug",
      autocomplete: "off",
      spellcheck: "false",
      maxlength: "64",
    }),
    "The end of the short URL: 3 to 64 letters, digits, - or _. Leave it empty for a random one.",
  );
  const expiry = field("Expires after", expirySelect(limits, ONE_YEAR));
  const errors = formErrors({ url, slug, expires_in: expiry });
  const result = el("section", { class: "result", "aria-label": "Your short link", hidden: true });
  const submit = el("button", { type: "submit" }, "Shorten");
  const form = el(
    "form",
    { novalidate: true, "aria-label": "Shorten a link" },
    url.wrapper,
    slug.wrapper,
    expiry.wrapper,
    errors.element,
    submit,
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.clear();
    const target = url.control.value.trim();
    if (!target) {
      url.showError("Enter the web address to shorten, starting with https://.");
      url.control.focus();
      return;
    }
    submit.disabled = true;
    try {
      const link = await createLink({
        url: target,
        slug: slug.control.value.trim() || undefined,
        expires_in: Number(expiry.control.value),
      });
      rememberCreated("link", link, link.short_url, link.url);
      await showResult(result, link);
      form.reset();
      expiry.control.value = String(ONE_YEAR);
    } catch (error) {
      errors.show(error);
    } finally {
      submit.disabled = false;
    }
  });

  main.replaceChildren(pageHeading("Shorten a link"), form, result);
}

/** The target as a link only when it is http(s), whatever the service let through; its text
 * only ever printable ASCII. */
function targetLink(url: string): Node {
  const shown = printableUrl(url);
  return /^https?:\/\//i.test(url)
    ? el("a", { href: url, rel: "noopener noreferrer" }, shown)
    : document.createTextNode(shown);
}

async function showResult(result: HTMLElement, link: CreatedLink): Promise<void> {
  const canvas = el("canvas", {
    class: "qr",
    role: "img",
    "aria-label": `QR code for ${link.short_url}`,
  });
  const heading = el("h2", { tabindex: "-1" }, "Your short link");
  result.replaceChildren(
    heading,
    copyableValue("Short URL", link.short_url, "short URL"),
    el("p", {}, "Goes to ", targetLink(link.url)),
    el(
      "p",
      { class: "muted" },
      formatExpiry(toEpochSeconds(link.expires_at)),
      ". Listed under ",
      el("a", { href: "/#mine" }, "My links and pastes"),
      " with its delete button.",
    ),
    canvas,
  );
  result.hidden = false;
  heading.focus();
  announce("Short link created");
  const { drawQrCode } = await import("../qr");
  await drawQrCode(canvas, link.short_url);
}
