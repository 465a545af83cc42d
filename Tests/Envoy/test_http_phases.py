"""Header, property and call-out calls made outside the phase they belong to, as Envoy 1.40
answers them and as the host answers them, side by side: Tests/Fixtures/wat/http_phase_probe.wat
logs one status per call (response headers before there is a response, request headers after
they went upstream, writes from the access-log phase, `response.code` before the response, an
HTTP call-out from a stream context to a cluster that does not exist)."""

from __future__ import annotations

from pathlib import Path

import probe

PROBE_LINES = 10
NAMES = ["request: get ResponseHeaders :status", "request: replace ResponseHeaders x-early",
         "request: get_property response.code", "request: http_call to a missing cluster",
         "response: replace RequestHeaders x-late", "response: get RequestHeaders :path",
         "log: get RequestHeaders :path", "log: replace ResponseHeaders x-log",
         "log: get ResponseHeaders :status", "log: get_property response.code"]


def probe_module(tmp_path: Path) -> Path:
    return probe.compile_probe("http_phase_probe", tmp_path)


def envoy_lines(module: Path) -> tuple[list[str], dict]:
    """The probe's statuses in Envoy, and the response headers the client got."""
    lines, (status, headers, _) = probe.envoy_http(module, done=lambda lines: len(lines) >= PROBE_LINES)
    assert status == 200
    return lines, {key.lower(): value for key, value in headers.items()}


def host_lines(module: Path, tmp_path: Path) -> list[str]:
    return probe.host_run(module, tmp_path)[0]


def test_the_host_answers_calls_outside_their_phase_as_envoy_does(tmp_path):
    module = probe_module(tmp_path)
    envoy, response_headers = envoy_lines(module)
    host = host_lines(module, tmp_path)
    assert len(envoy) == PROBE_LINES, envoy
    assert dict(zip(NAMES, host)) == dict(zip(NAMES, envoy))
    # Nothing written out of phase reaches the client.
    assert "x-early" not in response_headers and "x-log" not in response_headers
