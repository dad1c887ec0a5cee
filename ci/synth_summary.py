"""Print the stacks of a cloud assembly with their resource counts (run by `make synth`).

Usage: python -m ci.synth_summary [cdk.out]
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path


def stack_rows(assembly: Path) -> list[tuple[str, str, int, str]]:
    """(stack, region, resource count, the three most common types) per stack, in deploy order."""
    manifest = json.loads((assembly / "manifest.json").read_text())
    rows = []
    for artifact in manifest["artifacts"].values():
        if artifact["type"] != "aws:cloudformation:stack":
            continue
        properties = artifact["properties"]
        template = json.loads((assembly / properties["templateFile"]).read_text())
        resources = template.get("Resources", {})
        types = Counter(resource["Type"].split("::", 1)[1] for resource in resources.values())
        common = ", ".join(f"{name} {count}" for name, count in types.most_common(3))
        region = artifact["environment"].rsplit("/", 1)[-1]
        rows.append(
            (properties.get("stackName", artifact["displayName"]), region, len(resources), common)
        )
    return rows


def render(rows: list[tuple[str, str, int, str]]) -> str:
    header = ("stack", "region", "resources", "most common")
    table = [header, *[(name, region, str(count), common) for name, region, count, common in rows]]
    table.append(("total", "", str(sum(row[2] for row in rows)), ""))
    widths = [max(len(row[column]) for row in table) for column in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in table
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def main() -> int:
    assembly = Path(sys.argv[1] if len(sys.argv) > 1 else "cdk.out")
    if not (assembly / "manifest.json").is_file():
        print(
            f"synth_summary: {assembly} has no manifest.json; run cdk synth first", file=sys.stderr
        )
        return 1
    print(render(stack_rows(assembly)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
