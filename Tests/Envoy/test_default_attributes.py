"""The attributes Envoy 1.40 gives a plaintext HTTP/1.1 request, as Envoy answers them and as the
host answers them for a scenario that sets none of them, side by side:
Tests/Fixtures/wat/attribute_probe.wat reads each in the access-log phase and logs its status and
size (addresses `127.0.0.1:<5-digit port>`, ports and the connection id 8-byte integers,
`connection.mtls` one byte, no TLS facts); and the same for a TCP connection at its close
(`response.flags` and the byte totals, no response code or duration)."""

from __future__ import annotations

from pathlib import Path

import probe

ATTRIBUTES = ["source.address", "source.port", "destination.address", "destination.port", "upstream.address",
              "upstream.port", "connection.id", "connection.mtls", "connection.requested_server_name",
              "connection.tls_version", "upstream.tls_version", "upstream.local_address",
              "connection.termination_details", "upstream.transport_failure_reason", "request.protocol",
              "response.code_details", "connection.uri_san_peer_certificate", "upstream.uri_san_peer_certificate",
              "response.flags", "request.total_size", "response.total_size", "response.code", "request.duration"]
STATUS = {"0": "Ok", "1": "NotFound"}


def probe_module(tmp_path: Path) -> Path:
    return probe.compile_probe("attribute_probe", tmp_path)


def answers(lines: list[str]) -> dict[str, tuple[str, int]]:
    """(status, size) per attribute from the probe's pairs of lines."""
    assert len(lines) == 2 * len(ATTRIBUTES), lines
    return {name: (STATUS.get(lines[2 * i], lines[2 * i]), int(lines[2 * i + 1], 36))
            for i, name in enumerate(ATTRIBUTES)}


def complete(lines: list[str]) -> bool:
    return len(lines) >= 2 * len(ATTRIBUTES)


def envoy_lines(module: Path) -> list[str]:
    lines, (status, _, _) = probe.envoy_http(module, done=complete)
    assert status == 200
    return lines


def envoy_tcp_lines(module: Path) -> list[str]:
    """The probe as a network filter: its access-log phase comes when the connection closes."""
    lines, received = probe.envoy_tcp(module, done=complete)
    assert received == b"olleh\n"
    return lines


def host_lines(module: Path, tmp_path: Path, tcp: bool = False) -> list[str]:
    return probe.host_run(module, tmp_path, tcp=tcp)[0]


def test_the_host_gives_envoys_default_attributes_with_envoys_encodings(tmp_path):
    module = probe_module(tmp_path)
    envoy = answers(envoy_lines(module))
    host = answers(host_lines(module, tmp_path))
    assert host == envoy
    assert envoy["connection.id"] == ("Ok", 8) and envoy["connection.mtls"] == ("Ok", 1)
    assert envoy["connection.tls_version"][0] == "NotFound"


def test_a_tcp_connection_gets_the_same_attributes_in_the_host_as_in_envoy(tmp_path):
    module = probe_module(tmp_path)
    envoy = answers(envoy_tcp_lines(module))
    host = answers(host_lines(module, tmp_path, tcp=True))
    assert host == envoy
    assert envoy["upstream.port"] == ("Ok", 8) and envoy["request.protocol"][0] == "NotFound"
    # At close a connection has its flags and byte totals, but no response code or duration.
    assert envoy["response.flags"] == ("Ok", 8) and envoy["request.total_size"] == ("Ok", 8)
    assert envoy["response.code"][0] == "NotFound" and envoy["request.duration"][0] == "NotFound"
