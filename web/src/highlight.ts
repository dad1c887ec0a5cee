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
 * Above this size a paste is shown as plain text: building hundreds of thousands of spans
 * would stall the page however fast the worker tokenizes.
 */
export const HIGHLIGHT_MAX_CHARS = 256 * 1024;

/** Resolves to the runs, or null when the language is unknown or highlighting failed. */
export function highlightInWorker(code: string, language: string): Promise<Run[] | null> {
  return new Promise((resolve) => {
    const worker = new Worker(new URL("./highlight.worker.ts", import.meta.url), {
      type: "module",
    });
    const finish = (runs: Run[] | null): void => {
      worker.terminate();
      resolve(runs);
    };
    worker.onmessage = (event: MessageEvent<HighlightResponse>) => finish(event.data.runs);
    worker.onerror = () => finish(null);
    worker.postMessage({ code, language } satisfies HighlightRequest);
  });
}

export function runsToFragment(runs: readonly Run[]): DocumentFragment {
  const fragment = document.createDocumentFragment();
  for (const [text, className] of runs) {
    if (!className) {
      fragment.appendChild(document.createTextNode(text));
      continue;
    }
    const span = document.createElement("span");
    span.className = className;
    span.textContent = text;
    fragment.appendChild(span);
  }
  return fragment;
}
