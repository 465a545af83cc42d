"""Envoy's CEL foreign functions (`expr_create`, `expr_evaluate`) as Envoy 1.40 answers them and as
the host answers them, side by side: Tests/Fixtures/wat/cel_probe.wat logs statuses, sizes,
tokens and result bytes for strings, integers, booleans, maps, a missing attribute, a division
by zero and unparsable text."""

from __future__ import annotations

from pathlib import Path

import probe

CONFIGURE_LINES = 6 * 3 + 2  # six expressions (status, size, token), then the unparsable one (status, size)


def probe_module(tmp_path: Path) -> Path:
    return probe.compile_probe("cel_probe", tmp_path)


def envoy_lines(module: Path) -> list[str]:
    # Envoy configures in each VM: wait until the evaluation lines follow a whole number of configurations.
    lines, (status, _, _) = probe.envoy_http(module, done=lambda lines: len(lines) % CONFIGURE_LINES != 0)
    assert status == 200
    return lines


def host_lines(module: Path, tmp_path: Path) -> list[str]:
    return probe.host_run(module, tmp_path)[0]


def test_the_host_answers_the_cel_foreign_functions_as_envoy_does(tmp_path):
    module = probe_module(tmp_path)
    envoy, host = envoy_lines(module), host_lines(module, tmp_path)
    # Envoy configures the module in each of its VMs (tokens start at 0 in each), then one
    # evaluates on the request; the host runs one VM.
    assert len(host) > CONFIGURE_LINES
    assert host[:CONFIGURE_LINES] == envoy[:CONFIGURE_LINES]
    evaluation = host[CONFIGURE_LINES:]
    assert envoy[-len(evaluation):] == evaluation
    # What the lines say: a string, an int64, InternalFailure twice, a bool, a map, then
    # BadArgument for unparsable text at creation.
    assert host[:CONFIGURE_LINES] == ["0", "4", "0", "0", "4", "1", "0", "4", "2", "0", "4", "3", "0", "4", "4",
                                      "0", "4", "5", "2", "0"]
    assert evaluation[:3] == ["0", "D", "reviews:9080x"] and evaluation[3:6] == ["0", "8", "\x03" + "\x00" * 7]
    assert evaluation[6:10] == ["A", "0", "A", "0"] and evaluation[10:13] == ["0", "1", "\x01"]
