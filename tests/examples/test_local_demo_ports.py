"""Port selection: the asked-for port when free, the next free one when busy, a clear error otherwise."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from local_e2e import ports
from local_e2e.errors import PortUnavailableError


@pytest.fixture
def listening() -> Iterator[int]:
    """A port with a live listener on 127.0.0.1 (what another program's server looks like)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind((ports.LOOPBACK, 0))
        server.listen()
        yield server.getsockname()[1]


def test_a_free_port_is_kept(listening: int) -> None:
    with socket.socket() as probe:
        probe.bind((ports.LOOPBACK, 0))
        free = probe.getsockname()[1]
    assert ports.is_free(free)
    assert ports.choose_port(free, option="--tracking-port") == free


def test_a_busy_port_is_detected_and_the_next_free_one_chosen(listening: int) -> None:
    assert not ports.is_free(listening)
    chosen = ports.choose_port(listening, option="--tracking-port")
    assert chosen != listening
    assert listening < chosen < listening + ports.PORT_SCAN


def test_ports_taken_by_the_demo_itself_are_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ports, "is_free", lambda port, host=ports.LOOPBACK: True)
    assert ports.choose_port(6000, option="--serving-port", taken={6000, 6001}) == 6002


def test_no_free_port_names_the_option_and_the_range(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ports, "is_free", lambda port, host=ports.LOOPBACK: False)
    with pytest.raises(PortUnavailableError, match=r"--serving-port 6000: ports 6000-6019 on 127\.0\.0\.1"):
        ports.choose_port(6000, option="--serving-port")
