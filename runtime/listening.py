"""A listening TCP socket for a service's HTTP server (Central's dashboard, the
registry), bound before the server starts so that a taken port is one clear line."""

from __future__ import annotations

import socket


def bind(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port`` (IPv6 when the host has a colon); OSError if
    the address is taken or not ours."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock
