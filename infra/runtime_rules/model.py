"""The synthesized templates as the rules read them: resources, references and exports."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Json = Any


@dataclass(frozen=True)
class Finding:
    """One resource that breaks one rule: what AWS will do with it, and how to fix it."""

    rule_id: str
    template_path: str
    logical_id: str
    location: str
    problem: str
    fix: str


@dataclass(frozen=True)
class Template:
    """One stack's template, and the region its stack deploys to (None if unknown or agnostic)."""

    path: str
    body: Mapping[str, Json]
    region: str | None

    @property
    def resources(self) -> Mapping[str, Mapping[str, Json]]:
        resources: Mapping[str, Mapping[str, Json]] = self.body.get("Resources", {})
        return resources

    def of_type(self, resource_type: str) -> Iterator[tuple[str, Mapping[str, Json]]]:
        for logical_id, resource in self.resources.items():
            if resource.get("Type") == resource_type:
                yield logical_id, resource

    def finding(
        self, rule_id: str, logical_id: str, location: str, problem: str, fix: str
    ) -> Finding:
        return Finding(rule_id, self.path, logical_id, location, problem, fix)


@dataclass
class Assembly:
    """Every template of one synth, with the exports that join them."""

    templates: list[Template]
    _exports: dict[str, tuple[Template, Json]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for template in self.templates:
            for output in template.body.get("Outputs", {}).values():
                name = output.get("Export", {}).get("Name")
                if isinstance(name, str):
                    self._exports[name] = (template, output.get("Value"))

    @classmethod
    def load(cls, paths: Mapping[str, str | None]) -> Assembly:
        """`paths`: each template file and its stack's region."""
        return cls(
            [
                Template(path=path, body=json.loads(Path(path).read_text()), region=region)
                for path, region in paths.items()
            ]
        )

    def referenced_resource(self, template: Template, value: Json) -> tuple[Template, str] | None:
        """The resource `value` names by Ref, Fn::GetAtt or an import of either, if any."""
        if isinstance(value, Mapping):
            if isinstance(value.get("Ref"), str) and value["Ref"] in template.resources:
                return template, value["Ref"]
            get_att = value.get("Fn::GetAtt")
            if isinstance(get_att, list) and get_att and get_att[0] in template.resources:
                return template, str(get_att[0])
            imported = value.get("Fn::ImportValue")
            if isinstance(imported, str) and imported in self._exports:
                exporter, exported = self._exports[imported]
                return self.referenced_resource(exporter, exported)
        return None


def as_list(value: Json) -> list[Json]:
    """A policy element that may be one value or a list, as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def mentions(value: Json, text: str) -> bool:
    """Whether `text` appears in any string inside `value` (Fn::Join parts included)."""
    return text in json.dumps(value)
