"""Istio's own e2e test data (copied under Tests/Fixtures/istio/proxy-1.12.0): render the Go
templates of the expected metric files and read the test bootstrap's stats_tags."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

TESTDATA = Path(__file__).resolve().parents[1] / "Fixtures/istio/proxy-1.12.0"


def render(template: str, variables: dict[str, str]) -> str:
    """The `{{ .Vars.X }}`, `{{ .Ports.X }}` and `{{- if .Vars.X }}...{{- else }}...{{- end }}` subset."""
    out, stack = [], []
    for line in template.splitlines():
        stripped = line.strip()
        match = re.match(r"\{\{-? if \.Vars\.(\w+) \}\}", stripped)
        if match:
            condition = bool(variables.get(match.group(1)))
            parent = stack[-1][0] if stack else True
            stack.append([parent and condition, condition])
            continue
        if re.match(r"\{\{-? else \}\}", stripped):
            parent = stack[-2][0] if len(stack) > 1 else True
            stack[-1][0] = parent and not stack[-1][1]
            continue
        if re.match(r"\{\{-? end \}\}", stripped):
            stack.pop()
            continue
        if not stack or stack[-1][0]:
            out.append(re.sub(r"\{\{ \.(?:Vars|Ports)\.(\w+) \}\}", lambda m: variables.get(m.group(1), ""), line))
    return "\n".join(out)


def expected_series(name: str, variables: dict[str, str]) -> str:
    """One expected metric file as a Prometheus sample line, labels in file order."""
    document = yaml.safe_load(render((TESTDATA / "metric" / name).read_text(), variables))
    metric = document["metric"][0]
    value = metric.get("counter", metric.get("gauge", {})).get("value")
    labels = ",".join(f'{label["name"]}="{label["value"]}"' for label in metric["label"])
    return f'{document["name"]}{{{labels}}} {value}'


def stats_tags() -> list[dict]:
    """stats_tags of istio/proxy's test bootstrap (testdata/bootstrap/stats.yaml.tmpl)."""
    return yaml.safe_load((TESTDATA / "bootstrap/stats.yaml.tmpl").read_text())["stats_config"]["stats_tags"]


def plugin_config(name: str) -> str:
    """A testdata/stats/*.yaml plugin configuration as the JSON string Envoy passes."""
    import json
    return json.dumps(yaml.safe_load((TESTDATA / "stats" / name).read_text()))
