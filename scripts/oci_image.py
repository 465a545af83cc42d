#!/usr/bin/env python3
"""Wasm modules as OCI images in the layout Istio's WasmPlugin fetches (the *compat* variant of
the Wasm image spec, as istio/istio pkg/wasm/imagefetcher.go reads it: an OCI image manifest whose
last layer is an `application/vnd.oci.image.layer.v1.tar+gzip` tarball holding `plugin.wasm`),
written as an OCI image layout directory, pushed to and pulled from a registry over the OCI
distribution API. Standard library only; the same inputs give the same bytes and digests.

    oci_image.py build MODULE.wasm LAYOUT_DIR [--ref TAG]
    oci_image.py push LAYOUT_DIR http://HOST:PORT REPOSITORY TAG
    oci_image.py pull http://HOST:PORT REPOSITORY REFERENCE OUT.wasm   (prints the manifest digest)
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import sys
import tarfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
PLUGIN_FILE = "plugin.wasm"


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_tar(wasm: bytes) -> bytes:
    """An uncompressed tar with one file, plugin.wasm, with fixed owner, mode and time."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(PLUGIN_FILE)
        info.size, info.mode, info.mtime, info.uid, info.gid = len(wasm), 0o644, 0, 0, 0
        tar.addfile(info, io.BytesIO(wasm))
    return out.getvalue()


def image(wasm: bytes) -> tuple[bytes, dict[str, bytes]]:
    """The manifest bytes and every blob by digest."""
    tar = layer_tar(wasm)
    layer = gzip.compress(tar, mtime=0)
    config = json.dumps({"architecture": "wasm", "os": "wasip1",
                         "rootfs": {"type": "layers", "diff_ids": [digest(tar)]}, "config": {}},
                        sort_keys=True, separators=(",", ":")).encode()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "digest": digest(config), "size": len(config)},
        "layers": [{"mediaType": LAYER_TYPE, "digest": digest(layer), "size": len(layer)}],
    }, sort_keys=True, separators=(",", ":")).encode()
    return manifest, {digest(config): config, digest(layer): layer}


def build(wasm_path: Path, layout: Path, ref: str) -> str:
    """Writes an OCI image layout (oci-layout, index.json, blobs/sha256/*); returns the manifest digest."""
    manifest, blobs = image(wasm_path.read_bytes())
    blobs[digest(manifest)] = manifest
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    for name, data in blobs.items():
        (layout / "blobs" / "sha256" / name.split(":")[1]).write_bytes(data)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [{"mediaType": MANIFEST_TYPE, "digest": digest(manifest), "size": len(manifest),
                            "annotations": {"org.opencontainers.image.ref.name": ref}}]}
    (layout / "index.json").write_text(json.dumps(index, sort_keys=True, separators=(",", ":")))
    return digest(manifest)


def request(method: str, url: str, data: bytes | None = None, headers: dict | None = None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    return urllib.request.urlopen(req, timeout=30)


def push(layout: Path, registry: str, repository: str, tag: str) -> str:
    """Uploads the layout's blobs (monolithic uploads) and its manifest under `tag`; returns the
    digest the registry reports."""
    index = json.loads((layout / "index.json").read_text())
    manifest_digest = index["manifests"][0]["digest"]
    manifest = (layout / "blobs" / "sha256" / manifest_digest.split(":")[1]).read_bytes()
    described = json.loads(manifest)
    for blob in [described["config"]] + described["layers"]:
        data = (layout / "blobs" / "sha256" / blob["digest"].split(":")[1]).read_bytes()
        started = request("POST", f"{registry}/v2/{repository}/blobs/uploads/", data=b"")
        location = urllib.parse.urljoin(registry, started.headers["Location"])
        separator = "&" if "?" in location else "?"
        request("PUT", f"{location}{separator}digest={urllib.parse.quote(blob['digest'])}", data=data,
                headers={"Content-Type": "application/octet-stream"})
    answer = request("PUT", f"{registry}/v2/{repository}/manifests/{tag}", data=manifest,
                     headers={"Content-Type": MANIFEST_TYPE})
    return answer.headers.get("Docker-Content-Digest", digest(manifest))


def pull(registry: str, repository: str, reference: str) -> tuple[bytes, str]:
    """The module in image `repository:reference` (tag or digest) and the manifest digest; every
    byte checked against its digest, the layer read the way Istio's fetcher reads it."""
    manifest = request("GET", f"{registry}/v2/{repository}/manifests/{reference}", headers={"Accept": MANIFEST_TYPE}).read()
    if reference.startswith("sha256:") and digest(manifest) != reference:
        raise ValueError("manifest digest mismatch")
    described = json.loads(manifest)
    layer = described["layers"][-1]
    if layer["mediaType"] != LAYER_TYPE:
        raise ValueError(f"layer media type {layer['mediaType']}")
    data = request("GET", f"{registry}/v2/{repository}/blobs/{layer['digest']}").read()
    if digest(data) != layer["digest"]:
        raise ValueError("layer digest mismatch")
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))) as tar:
        member = tar.getmember(PLUGIN_FILE)
        return tar.extractfile(member).read(), digest(manifest)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    b = commands.add_parser("build")
    b.add_argument("wasm", type=Path)
    b.add_argument("layout", type=Path)
    b.add_argument("--ref", default="latest")
    p = commands.add_parser("push")
    p.add_argument("layout", type=Path)
    p.add_argument("registry")
    p.add_argument("repository")
    p.add_argument("tag")
    g = commands.add_parser("pull")
    g.add_argument("registry")
    g.add_argument("repository")
    g.add_argument("reference")
    g.add_argument("out", type=Path)
    args = parser.parse_args()
    try:
        if args.command == "build":
            print(build(args.wasm, args.layout, args.ref))
        elif args.command == "push":
            print(push(args.layout, args.registry, args.repository, args.tag))
        else:
            module, manifest_digest = pull(args.registry, args.repository, args.reference)
            args.out.write_bytes(module)
            print(manifest_digest)
    except (OSError, ValueError, KeyError, urllib.error.URLError) as error:
        print(f"oci_image.py {args.command}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
