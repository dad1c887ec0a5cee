// How a link's target is shown. Spito stores targets as printable ASCII (the service refuses
// or percent-encodes everything else), but a target saved in this browser before it did may
// hold bidi controls or invisible characters that make it read as another address: anything
// outside printable ASCII is shown percent-encoded, as the service would store it today.

const PRINTABLE_ASCII = /^[\x21-\x7e]$/;
const encoder = new TextEncoder();

export function printableUrl(url: string): string {
  return Array.from(url, (character) =>
    PRINTABLE_ASCII.test(character)
      ? character
      : Array.from(
          encoder.encode(character),
          (byte) => `%${byte.toString(16).toUpperCase().padStart(2, "0")}`,
        ).join(""),
  ).join("");
}
