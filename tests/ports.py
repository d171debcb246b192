"""Ports for the servers the tests start."""

from __future__ import annotations

import itertools
import os
import socket
from pathlib import Path


def _port_range() -> range:
    """This test process's own ports: below the kernel's ephemeral range (which it hands to outgoing connections
    and to bind(0), so a port found free there can be taken before the test binds it), one share per xdist
    worker, so that two workers never pick the same one."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    index = int(worker) if worker.isdigit() else 0
    share = 1500
    start = max(1024, low - share * (index + 1))
    return range(start, start + share)


_PORTS = _port_range()
_next_port = itertools.count()


def free_port() -> int:
    """A port of this process's own range that nothing listens on, never the same one twice in a row."""
    for _ in range(len(_PORTS)):
        port = _PORTS[next(_next_port) % len(_PORTS)]
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {_PORTS.start}-{_PORTS.stop - 1}")
