"""The paste page highlights every syntax the service accepts: the worker bundles a highlight.js
grammar (or an alias of one) for each entry of the service's allowlist."""

import json
import re
import subprocess
from pathlib import Path

from service.validation import SYNTAXES

WEB = Path(__file__).resolve().parents[2] / "web"
LANGUAGES_MODULE = WEB / "src" / "languages.ts"
PLAIN_TEXT = "text"  # shown as is, no grammar needed

# Registers the grammars web/src/languages.ts imports, then answers which names resolve.
RESOLVE_SCRIPT = """
import hljs from "highlight.js/lib/core";
const [grammars, names] = JSON.parse(process.argv[1]);
for (const grammar of grammars) {
  const module = await import(`highlight.js/lib/languages/${grammar}`);
  hljs.registerLanguage(grammar, module.default);
}
console.log(JSON.stringify(names.filter((name) => !hljs.getLanguage(name))));
"""


def bundled_grammars() -> list[str]:
    source = LANGUAGES_MODULE.read_text()
    return re.findall(r'from "highlight\.js/lib/languages/([\w-]+)"', source)


def test_every_allowlisted_syntax_has_a_bundled_grammar() -> None:
    names = [name for name in SYNTAXES if name != PLAIN_TEXT]
    result = subprocess.run(
        [
            "node",
            "--input-type=module",
            "-e",
            RESOLVE_SCRIPT,
            json.dumps([bundled_grammars(), names]),
        ],
        cwd=WEB,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout) == []
