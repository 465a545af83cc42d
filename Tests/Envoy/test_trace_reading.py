"""Reading a trace as a person does: `trace show` (decoded, escaped, shortened, one request
followed across both sidecars), `trace diff` (aligned, the differing field marked) and
`trace render` opened in a real headless browser (Debian's chromium), on the trace of the
demo mesh (Tests/Fixtures/scenarios/mesh.yaml) that `make run` writes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

import harness

ROOT = Path(__file__).resolve().parents[2]
LANES = ["productpage-sidecar (host)", "productpage-sidecar/metadata_exchange", "productpage-sidecar/stats",
         "reviews-sidecar (host)", "reviews-sidecar/metadata_exchange", "reviews-sidecar/stats"]


def host(*arguments: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([harness.host_binary(), *arguments], capture_output=True, text=True, check=check, cwd=ROOT)


@pytest.fixture(scope="module")
def trace(tmp_path_factory) -> Path:
    """The demo mesh's trace, with modules from WASM_DIR."""
    directory = tmp_path_factory.mktemp("trace")
    scenario = (ROOT / "Tests/Fixtures/scenarios/mesh.yaml").read_text()
    scenario = scenario.replace("../../../build/wasm/", str(harness.wasm_module("stats").parent) + "/")
    (directory / "mesh.yaml").write_text(scenario)
    path = directory / "mesh.trace.jsonl"
    host("run", str(directory / "mesh.yaml"), "--trace", str(path), "--prometheus-only")
    return path


def events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_show_is_text_with_typed_values_and_no_control_bytes(trace):
    text = host("trace", "show", str(trace)).stdout
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", text)
    # Filter state holding a peer reads as the FlatNode its declared schema decodes, not as bytes.
    assert "proxy_set_property(path: downstream_peer, value: flatbuffers Wasm.Common.FlatNode {app_containers: [productpage], " in text
    assert "proxy_get_property(path: upstream_peer) -> Ok = flatbuffers Wasm.Common.FlatNode {" in text
    assert "proxy_get_property(path: response.code) -> Ok = int 200" in text
    assert "proxy_get_property(path: request.duration) -> Ok = duration " in text
    assert re.search(r"proxy_get_property\(path: xds\.node\.metadata\.LABELS\) -> Ok = map \{app: productpage, ", text)
    # Long values are shortened unless asked; the stat names are ~900 characters.
    assert max(len(line) for line in text.splitlines()) < 400
    assert "chars)" in text
    full = host("trace", "show", str(trace), "--full").stdout
    assert max(len(line) for line in full.splitlines()) > 800 and "chars)" not in full
    assert "labels: {app: productpage, service.istio.io/canonical-name: productpage, " in full
    assert "workload_name: productpage-v1}) -> Ok" in full


def test_show_follows_one_request_across_both_sidecars(trace):
    text = host("trace", "show", str(trace), "--request", "2").stdout
    lines = text.splitlines()
    assert lines[0] == "--- request 2 ---" and all(not line.startswith("---") for line in lines[1:])
    sources = {source for source in LANES if "(host)" not in source if f" {source} " in text}
    assert sources == {lane for lane in LANES if "(host)" not in lane}
    recorded = [event for event in events(trace) if event.get("exchange") == "request 2"]
    assert len(lines) - 1 == len(recorded) > 40
    assert host("trace", "show", str(trace), "--request", "99", check=False).returncode == 1


def test_diff_aligns_inserted_deleted_and_changed_events(trace, tmp_path):
    original = events(trace)
    changed = [dict(event) for event in original]
    # Four extra host calls after event 100, one response code changed, one event dropped.
    extra = [dict(original[100], args={"path": f"extra.{index}"}, status="NotFound") for index in range(4)]
    for event in extra:
        event.pop("result", None)
    code = next(index for index, event in enumerate(changed) if event["args"].get("path") == "response.code")
    changed[code] = dict(changed[code], result="int 503")
    dropped = code + 20
    changed = changed[:101] + extra + changed[101:dropped] + changed[dropped + 1:]
    other = tmp_path / "changed.jsonl"
    other.write_text("".join(json.dumps(event) + "\n" for event in changed))
    answer = host("trace", "diff", str(trace), str(other), check=False)
    assert answer.returncode == 1
    lines = answer.stdout.splitlines()
    assert sum(line.startswith("+ ") for line in lines) == 4
    assert sum(line.startswith("- ") for line in lines) == 1
    assert [line for line in lines if line.startswith("~ ")] == [
        next(line for line in lines if line.startswith("~ ") and "response.code" in line)]
    assert "    result: int 200 -> int 503" in lines
    assert lines[-1] == f"1 deleted, 4 inserted, 1 changed ({len(original)} expected events, {len(changed)} actual)"
    assert host("trace", "diff", str(trace), str(trace)).stdout.startswith("traces match")


class Lanes(HTMLParser):
    """The lanes and crossings of the DOM chromium printed after running the page's script."""

    def __init__(self):
        super().__init__()
        self.lanes: list[tuple[str, int]] = []
        self.crossings = 0
        self.body: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if tag == "g" and "lane" in classes:
            self.lanes.append((attributes["data-lane"], int(attributes.get("data-rendered-width", "0"))))
        if tag == "g" and "crossing" in classes:
            self.crossings += 1
        if tag == "body":
            self.body = attributes


def test_render_draws_the_request_in_a_real_browser(trace, tmp_path):
    browser = shutil.which("chromium")
    assert browser, "chromium is missing: `make deps` installs it"
    page = tmp_path / "request2.html"
    host("trace", "render", str(trace), "--request", "2", "-o", str(page))
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    parsed = Lanes()
    parsed.feed(dom)
    assert [name for name, _ in parsed.lanes] == LANES
    # The page's script ran and measured each lane as laid out by the browser.
    assert all(width > 100 for _, width in parsed.lanes), parsed.lanes
    recorded = [event for event in events(trace) if event.get("exchange") == "request 2"]
    assert parsed.crossings == len(recorded)
    assert parsed.body.get("data-lanes") == str(len(LANES)) and parsed.body.get("data-crossings") == str(len(recorded))
    # Without a selection the first request is drawn, next to the trace.
    default = host("trace", "render", str(trace)).stdout
    assert default.startswith(str(trace)[:-len(".jsonl")] + ".html:") and "request 1" in default
