"""Ports for the servers a test starts.

A port got by binding to 0 comes from the kernel's ephemeral range — the range it also takes
outgoing connections' local ports from — so between the test picking it and its server binding
it, a client connection (to the broker, to PostgreSQL, a browser's) can be handed the very same
port, and the server fails with "Address already in use" (seen in CI: ``uzdik serve --all``
and the README's distributed test). So a test's server port is taken below that range, where
the kernel never hands out local ports; nothing listens there now, and this process has not
handed it out before."""

from __future__ import annotations

import random
import socket
from pathlib import Path

_given: set[int] = set()
_rng = random.Random()


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    """A port of 127.0.0.1 for a server a test starts (see the module)."""
    low = _ephemeral_low()
    for _ in range(500):
        port = _rng.randrange(max(1024, low - 12000), low - 8)
        if port in _given:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        if _listening(port):
            continue
        _given.add(port)
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:  # that range is full
        s.bind(("127.0.0.1", 0))
        found: int = s.getsockname()[1]
        return found


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports, as :func:`free_port`."""
    return [free_port() for _ in range(count)]
