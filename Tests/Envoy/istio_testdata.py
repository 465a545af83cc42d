"""Istio's own e2e test data (copied under Tests/Fixtures/istio/proxy-1.12.0): render the Go
templates of the expected metric files and read the test bootstrap's stats_tags."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

TESTDATA = Path(__file__).resolve().parents[1] / "Fixtures/istio/proxy-1.12.0"


def render(template: str, variables: dict[str, str]) -> str:
    """The `{{ .Vars.X }}`, `{{ .Ports.X }}` and `{{- if .Vars.X }}` / `{{- else if .Vars.Y }}` /
    `{{- else }}` / `{{- end }}` subset."""
    out: list[str] = []
    stack: list[list[bool]] = []  # per open `if`: [this branch is emitted, some branch was taken]

    for line in template.splitlines():
        stripped = line.strip()
        if match := re.match(r"\{\{-? if \.Vars\.(\w+) \}\}", stripped):
            condition = bool(variables.get(match.group(1)))
            stack.append([condition, condition])
            continue
        if match := re.match(r"\{\{-? else if \.Vars\.(\w+) \}\}", stripped):
            condition = not stack[-1][1] and bool(variables.get(match.group(1)))
            stack[-1] = [condition, stack[-1][1] or condition]
            continue
        if re.match(r"\{\{-? else \}\}", stripped):
            stack[-1] = [not stack[-1][1], True]
            continue
        if re.match(r"\{\{-? end \}\}", stripped):
            stack.pop()
            continue
        if all(frame[0] for frame in stack):
            out.append(re.sub(r"\{\{ \.(?:Vars|Ports)\.(\w+) \}\}", lambda m: variables.get(m.group(1), ""), line))
    return "\n".join(out)


def expected_series(name: str, variables: dict[str, str]) -> str:
    """One expected metric file as a Prometheus sample line, labels in file order."""
    document = yaml.safe_load(render((TESTDATA / "metric" / name).read_text(), variables))
    metric = document["metric"][0]
    value = metric.get("counter", metric.get("gauge", {})).get("value")
    labels = ",".join(f'{label["name"]}="{label["value"]}"' for label in metric.get("label", []))
    return f'{document["name"]}{{{labels}}} {value}'


def stats_tags() -> list[dict]:
    """stats_tags of istio/proxy's test bootstrap (testdata/bootstrap/stats.yaml.tmpl)."""
    return yaml.safe_load((TESTDATA / "bootstrap/stats.yaml.tmpl").read_text())["stats_config"]["stats_tags"]


def plugin_config(name: str) -> str:
    """A testdata/stats/*.yaml plugin configuration as the JSON string Envoy passes."""
    import json
    return json.dumps(yaml.safe_load((TESTDATA / "stats" / name).read_text()))
