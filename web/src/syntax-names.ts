// How the service's syntax names read to a person; a name missing here is shown as it is.
const NAMES: Record<string, string> = {
  text: "Plain text",
  bash: "Bash",
  c: "C",
  cpp: "C++",
  csharp: "C#",
  css: "CSS",
  diff: "Diff",
  dockerfile: "Dockerfile",
  go: "Go",
  html: "HTML",
  java: "Java",
  javascript: "JavaScript",
  json: "JSON",
  kotlin: "Kotlin",
  markdown: "Markdown",
  php: "PHP",
  python: "Python",
  ruby: "Ruby",
  rust: "Rust",
  sql: "SQL",
  swift: "Swift",
  toml: "TOML",
  typescript: "TypeScript",
  xml: "XML",
  yaml: "YAML",
};

export const PLAIN_TEXT = "text";

export const syntaxName = (syntax: string | null): string =>
  syntax ? (NAMES[syntax] ?? syntax) : NAMES[PLAIN_TEXT]!;
