"""Loopback ports for the servers tests start, never the same for two test processes at once.

Under pytest-xdist each worker takes ports from a range of its own, below the kernel's
ephemeral range (32768 and up on Linux), where neither another worker nor a port the kernel
hands out for bind(0) or an outgoing connection can land; a port still in use is skipped.
"""

from __future__ import annotations

import itertools
import os
import socket

_SPAN = 2000  # ports per worker
_FIRST = 12000  # gw0 takes 12000-13999, gw1 14000-15999, …
_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
_base = _FIRST + _SPAN * (int(_worker) if _worker.isdigit() else 0) % 20000
_next = itertools.cycle(range(_base, _base + _SPAN))


def free_port() -> int:
    """A loopback port no one listens on now, and that no other test process will take."""
    for _ in range(_SPAN):
        port = next(_next)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {_base}-{_base + _SPAN - 1}")


def outward_address() -> str:
    """This machine's own address that is not loopback: where a password must not go in clear.

    The address a packet to the outside would leave from (no packet is sent).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))  # TEST-NET-1: routed like any other address
            address = str(sock.getsockname()[0])
        except OSError:
            address = "0.0.0.0"
    if address.startswith(("127.", "0.")):
        raise RuntimeError("this machine has no address but loopback (no network interface up)")
    return address
