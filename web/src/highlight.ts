// Highlighting for the paste page: runs highlight.js in a worker and turns its runs into
// spans whose text is set as text.

/** [text, space-separated highlight.js classes] */
export type Run = [string, string];

export interface HighlightRequest {
  code: string;
  language: string;
}

export interface HighlightResponse {
  runs: Run[] | null;
}

/**
 * Above this many characters (JavaScript string length: UTF-16 code units, not bytes) a paste
 * is shown as plain text. Highlighting is spread over frames, but tokenizing, sending and
 * building hundreds of thousands of spans would still keep the reader waiting for colours.
 */
export const HIGHLIGHT_MAX_CHARS = 256 * 1024;

/**
 * Resolves to the runs, or null when the language is unknown, highlighting failed, or the runs
 * would not spell out the code exactly (the page must show, and copy, what was pasted).
 */
export function highlightInWorker(code: string, language: string): Promise<Run[] | null> {
  return new Promise((resolve) => {
    const worker = new Worker(new URL("./highlight.worker.ts", import.meta.url), {
      type: "module",
    });
    const finish = (runs: Run[] | null): void => {
      worker.terminate();
      resolve(runs);
    };
    worker.onmessage = (event: MessageEvent<HighlightResponse>) => {
      const { runs } = event.data;
      finish(runs && runs.map(([text]) => text).join("") === code ? runs : null);
    };
    worker.onerror = () => finish(null);
    worker.postMessage({ code, language } satisfies HighlightRequest);
  });
}

/**
 * The runs cut at the blocks' boundaries, as one fragment of text nodes and spans per block
 * (a token spanning two blocks is split in two); each is built only when the caller asks.
 */
export function* blockFragments(
  runs: readonly Run[],
  blockLengths: readonly number[],
): Generator<DocumentFragment> {
  let runIndex = 0;
  let offset = 0; // into the current run's text
  for (const length of blockLengths) {
    const fragment = document.createDocumentFragment();
    let remaining = length;
    while (remaining > 0 && runIndex < runs.length) {
      const [text, className] = runs[runIndex]!;
      const piece = text.slice(offset, offset + remaining);
      fragment.appendChild(runNode(piece, className));
      remaining -= piece.length;
      offset += piece.length;
      if (offset === text.length) {
        runIndex += 1;
        offset = 0;
      }
    }
    yield fragment;
  }
}

function runNode(text: string, className: string): Node {
  if (!className) return document.createTextNode(text);
  const span = document.createElement("span");
  span.className = className;
  span.textContent = text;
  return span;
}
