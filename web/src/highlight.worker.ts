// Highlights a paste off the main thread, so a long paste never freezes the page. It answers
// with plain text runs and class names, never HTML: the page inserts every run as text.
import hljs from "highlight.js/lib/core";
import { LANGUAGES } from "./languages";
import type { HighlightRequest, HighlightResponse, Run } from "./highlight";

for (const [name, definition] of Object.entries(LANGUAGES)) hljs.registerLanguage(name, definition);

/**
 * Collects highlight.js's token stream as [text, classes] runs, in place of its HTML renderer,
 * so that no HTML is ever made from a paste.
 */
class RunEmitter {
  readonly runs: Run[] = [];
  private readonly scopes: string[] = [];

  addText(text: string): void {
    if (!text) return;
    const className = this.scopes.join(" ");
    const last = this.runs[this.runs.length - 1];
    if (last && last[1] === className) last[0] += text;
    else this.runs.push([text, className]);
  }

  startScope(scope: string): void {
    this.scopes.push(scopeClasses(scope));
  }

  endScope(): void {
    this.scopes.pop();
  }

  openNode(scope: string): void {
    this.startScope(scope);
  }

  closeNode(): void {
    this.endScope();
  }

  /** Embedded code (CSS inside HTML, say) keeps its own classes inside ours. */
  __addSublanguage(emitter: RunEmitter): void {
    for (const [text, className] of emitter.runs) {
      this.scopes.push(className);
      this.addText(text);
      this.scopes.pop();
    }
  }

  finalize(): void {}

  toHTML(): string {
    return "";
  }
}

/** highlight.js's class names for a scope: "title.function" → "hljs-title function_". */
function scopeClasses(scope: string): string {
  if (scope.startsWith("language:")) return "";
  const [first, ...rest] = scope.split(".");
  return [`hljs-${first}`, ...rest.map((part, index) => `${part}${"_".repeat(index + 1)}`)].join(
    " ",
  );
}

// highlight.js 11 has no public way to receive tokens instead of HTML: the emitter option
// (`__emitter`, read back as `result._emitter`) is private. web/package.json pins the exact
// version for that reason; after an upgrade, the browser tests that expect highlighted spans
// (tests/browser/test_web_app.py) show whether this still holds.
hljs.configure({ __emitter: RunEmitter });

self.onmessage = (event: MessageEvent<HighlightRequest>) => {
  const { code, language } = event.data;
  let response: HighlightResponse;
  try {
    const result = hljs.highlight(code, { language, ignoreIllegals: true });
    response = { runs: (result._emitter as unknown as RunEmitter).runs };
  } catch {
    response = { runs: null };
  }
  self.postMessage(response);
};
