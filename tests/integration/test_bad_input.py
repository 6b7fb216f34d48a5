"""Garbage on every port of a running network: NAKs, refusals, no crash, no harm."""

from __future__ import annotations

import json
import os
import socket
import time

import pytest

from protocol import messages as m
from protocol.framing import ACK, ENQ, NAK, encode_frame

pytestmark = pytest.mark.integration

ATTACKS = {
    "random bytes": os.urandom(4096),
    "bad LRC": b"\x02" + b'{"type":"hello"}' + b"\x03\x00",
    "oversize": b"\x02" + b"x" * (70 * 1024) + b"\x03\x00",
    "invalid JSON": encode_frame(b"{not json"),
    "unknown type": encode_frame(json.dumps({"type": "teleport", "id": "1", "cp_id": "X",
                                             "ts": m.utc_now()}).encode()),
}


def attack(port: int, data: bytes) -> bytes:
    """Open the link, send the attack, return what came back before the peer closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(bytes([ENQ]))
        answer = sock.recv(1)
        sock.sendall(data)
        got = b""
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline and NAK not in got:
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                break
            except ConnectionResetError:  # dropped with our bytes unread: RST may beat NAK
                return answer + got + b"<reset>"
            if not chunk:
                break
            got += chunk
        return answer + got


@pytest.mark.parametrize("name", ATTACKS)
def test_every_port_naks_garbage_and_the_cp_stays_healthy(network, name):
    cp = network.cps[0]
    ports = {"central": network.listen_port, "panel": cp.panel_port}
    for port in ports.values():
        got = attack(port, ATTACKS[name])
        assert got[:1] == bytes([ACK]), (name, port, got[:10])
        assert NAK in got[1:] or got.endswith(b"<reset>"), (name, port, got[:10])
    assert network.state(cp.cp_id) == "ACTIVATED"
    assert all(p.poll() is None for p in network.net.processes.values())


def test_wrong_secret_and_unknown_cp_are_refused(network):
    from protocol.transport import Connection, connect

    for cp_id in ("NOPE-01", network.cps[0].cp_id):
        got = []
        conn = Connection(connect(network.central), initiator=True, on_message=got.append)
        conn.start()
        conn.wait_open(2)
        conn.send(m.Hello(cp_id=cp_id))
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not any(isinstance(g, m.Refused) for g in got):
            challenge = next((g for g in got if isinstance(g, m.Challenge)), None)
            if challenge and not any(isinstance(g, m.Authenticate) for g in got):
                conn.send(m.Authenticate(cp_id=cp_id, hmac="00" * 32))
                got.append(m.Authenticate(cp_id=cp_id, hmac=""))
            time.sleep(0.02)
        assert any(isinstance(g, m.Refused) for g in got), got
        conn.close()
    assert network.state(network.cps[0].cp_id) == "ACTIVATED"
