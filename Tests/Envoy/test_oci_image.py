"""The modules as OCI images in the layout Istio's WasmPlugin fetches (`make oci`,
scripts/oci_image.py): pushed to a real registry (Debian's docker-registry on loopback) and
pulled back, by tag and by digest, byte-identical, with the digest the layout records."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

import harness

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "scripts/oci_image.py"


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """docker-registry serving a fresh storage directory on a free loopback port."""
    directory = tmp_path_factory.mktemp("registry")
    port = harness.free_port()
    config = directory / "config.yml"
    config.write_text(f"version: 0.1\nlog: {{level: error}}\nstorage: {{filesystem: {{rootdirectory: {directory / 'data'}}}}}\n"
                      f"http: {{addr: '127.0.0.1:{port}'}}\n")
    process = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"{url}/v2/", timeout=1) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        assert process.poll() is None and time.monotonic() < deadline, "docker-registry did not start"
        time.sleep(0.1)
    yield url, directory / "data"
    process.terminate()
    process.wait(timeout=10)


def run(*arguments: str) -> str:
    return subprocess.run(["python3", str(TOOL), *arguments], check=True, capture_output=True, text=True).stdout.strip()


@pytest.mark.parametrize("module", ["metadata_exchange", "stats", "telemetry"])
def test_an_image_pushed_and_pulled_back_is_the_module_byte_for_byte(registry, tmp_path, module):
    registry, _ = registry
    wasm = harness.wasm_module(module)
    layout = tmp_path / "layout"
    built = run("build", str(wasm), str(layout), "--ref", "0.9.0")
    index = json.loads((layout / "index.json").read_text())
    assert index["manifests"][0]["digest"] == built
    repository = f"istio-telemetry-swift/{module.replace('_', '-')}"
    assert run("push", str(layout), registry, repository, "0.9.0") == built
    for reference in ("0.9.0", built):
        out = tmp_path / f"pulled-{reference.replace(':', '-')}.wasm"
        assert run("pull", registry, repository, reference, str(out)) == built
        assert out.read_bytes() == wasm.read_bytes()


def test_the_layout_is_istios_compat_variant_and_reproducible(tmp_path):
    wasm = harness.wasm_module("stats")
    first, second = tmp_path / "a", tmp_path / "b"
    assert run("build", str(wasm), str(first)) == run("build", str(wasm), str(second))
    index = json.loads((first / "index.json").read_text())
    manifest = json.loads((first / "blobs/sha256" / index["manifests"][0]["digest"].split(":")[1]).read_text())
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    [layer] = manifest["layers"]
    assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    listing = subprocess.run(["tar", "-tzvf", str(first / "blobs/sha256" / layer["digest"].split(":")[1])],
                             check=True, capture_output=True, text=True).stdout.split()
    assert listing[-1] == "plugin.wasm"


def test_a_blob_corrupted_in_the_registry_is_refused_on_pull(registry, tmp_path):
    url, storage = registry
    wasm = harness.wasm_module("header_stamp")
    layout = tmp_path / "layout"
    built = run("build", str(wasm), str(layout))
    run("push", str(layout), url, "corrupted", "1")
    manifest = json.loads((layout / "blobs/sha256" / built.split(":")[1]).read_text())
    hex_digest = manifest["layers"][0]["digest"].split(":")[1]
    [stored] = list(storage.rglob(f"blobs/sha256/{hex_digest[:2]}/{hex_digest}/data"))
    stored.write_bytes(stored.read_bytes()[:-1] + bytes([stored.read_bytes()[-1] ^ 1]))
    result = subprocess.run(["python3", str(TOOL), "pull", url, "corrupted", "1", str(tmp_path / "out.wasm")],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "layer digest mismatch" in result.stderr
    assert not (tmp_path / "out.wasm").exists()
