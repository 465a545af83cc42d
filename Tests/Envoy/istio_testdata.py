"""Istio's own e2e test data (copied under Tests/Fixtures/istio/proxy-1.12.0): the expected
series of its metric files and the test bootstrap's stats_tags."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

TESTDATA = Path(__file__).resolve().parents[1] / "Fixtures/istio/proxy-1.12.0"


def testdata_binary() -> str:
    """The `istio-testdata` tool (Tests/istio-testdata): $ISTIO_TESTDATA, or the debug build."""
    return os.environ.get("ISTIO_TESTDATA", str(Path(__file__).resolve().parents[2] / ".build/debug/istio-testdata"))


def expected_series(name: str, variables: dict[str, str]) -> str:
    """One expected metric file as a Prometheus sample line, labels in file order, rendered by
    the same template code as the Swift tests' (`istio-testdata expected-series`)."""
    arguments = [f"{key}={value}" for key, value in variables.items()]
    result = subprocess.run([testdata_binary(), "expected-series", name, *arguments], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"istio-testdata expected-series {name} failed: {result.stderr.strip()} (build it with `make envoy-test`)")
    lines = result.stdout.splitlines()
    assert len(lines) == 1, f"{name}: expected one series, got {lines}"
    return lines[0]


def stats_tags() -> list[dict]:
    """stats_tags of istio/proxy's test bootstrap (testdata/bootstrap/stats.yaml.tmpl)."""
    return yaml.safe_load((TESTDATA / "bootstrap/stats.yaml.tmpl").read_text())["stats_config"]["stats_tags"]


def plugin_config(name: str) -> str:
    """A testdata/stats/*.yaml plugin configuration as the JSON string Envoy passes."""
    import json
    return json.dumps(yaml.safe_load((TESTDATA / "stats" / name).read_text()))
