"""A network filter's buffer calls across directions, as Envoy 1.40 answers them and as the host
answers them, side by side: Tests/Fixtures/wat/tcp_buffer_probe.wat, on the first data callback
of each direction, asks for the other direction's buffer (status, write, read), prepends a byte to
its own and reads it back; every answer is one log line. Also what the application and the client
receive in Envoy: the prepends to a callback's own buffer arrive, the cross-direction writes do
not."""

from __future__ import annotations

from pathlib import Path

import probe

PROBE_LINES = 10  # five per direction


def probe_module(tmp_path: Path) -> Path:
    return probe.compile_probe("tcp_buffer_probe", tmp_path)


def envoy_run(module: Path) -> tuple[list[str], bytes]:
    """The probe's log lines in Envoy, and what the client received."""
    return probe.envoy_tcp(module, done=lambda lines: len(lines) >= PROBE_LINES)


def host_run(module: Path, tmp_path: Path) -> tuple[list[str], str]:
    """The probe's log lines in the host, and its line on what each end received."""
    lines, other = probe.host_run(module, tmp_path, tcp=True)
    [outcome] = [line for line in other if line.startswith("tcp #1: ")]
    return lines, outcome


def test_the_host_answers_cross_direction_buffer_calls_as_envoy_does(tmp_path):
    module = probe_module(tmp_path)
    envoy, received = envoy_run(module)
    host, outcome = host_run(module, tmp_path)
    assert len(envoy) == PROBE_LINES, envoy
    assert host == envoy
    # Own-direction prepends arrive; the other direction's "U" and "d" do not: in Envoy the
    # application gets "Dhello\n" and answers "ollehD\n", the client gets "u" before it; in the
    # host the upstream end gets the 7 bytes of "Dhello\n" and the downstream end "u" + "olleh\n".
    assert received == b"uollehD\n"
    assert outcome == "tcp #1: upstream received 7 bytes, downstream received 7 bytes"
