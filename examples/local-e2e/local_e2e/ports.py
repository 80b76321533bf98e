"""Choosing loopback ports: the one asked for when free, else the next free one, else a clear error."""

from __future__ import annotations

import socket
from collections.abc import Collection

from local_e2e.errors import PortUnavailableError

LOOPBACK = "127.0.0.1"
"""Every server the demo starts binds here only: nothing it serves is reachable from the network."""

PORT_SCAN = 20
"""How many ports after a busy one are tried before giving up."""


def is_free(port: int, host: str = LOOPBACK) -> bool:
    """Whether a server could bind `host:port` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers do (uvicorn sets it): a port whose last connections linger in TIME_WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def choose_port(preferred: int, *, option: str, taken: Collection[int] = ()) -> int:
    """`preferred` if free, else the first free port of the next PORT_SCAN ones; `taken` are never chosen.

    `option` names the command-line option the port came from, so the error says what to change.
    """
    last = min(preferred + PORT_SCAN - 1, 65535)
    for port in range(preferred, last + 1):
        if port not in taken and is_free(port):
            return port
    msg = (
        f"{option} {preferred}: ports {preferred}-{last} on {LOOPBACK} are all busy or already used by "
        f"this demo; pass {option} with a free port"
    )
    raise PortUnavailableError(msg)
