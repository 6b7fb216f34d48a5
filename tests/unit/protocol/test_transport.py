import os
import socket
import threading
import time

import pytest

from protocol import messages as m
from protocol.errors import FormatViolation
from protocol.transport import Connection, SerialStream, SocketStream, connect, parse_address


@pytest.mark.parametrize("text", ["nohost", ":80", "host:", "host:99999", "host:abc"])
def test_parse_address_refuses(text):
    with pytest.raises(ValueError):
        parse_address(text)


def test_parse_address():
    assert parse_address("127.0.0.1:7000") == ("127.0.0.1", 7000)
    assert parse_address("[::1]:7000") == ("::1", 7000)


def echo_server():
    server = socket.create_server(("127.0.0.1", 0))
    received = []

    def serve():
        sock, _ = server.accept()
        conn = Connection(SocketStream(sock), initiator=False, name="server",
                          on_message=lambda msg: (received.append(msg), conn.send(msg)))
        conn.start()

    threading.Thread(target=serve, daemon=True).start()
    return server.getsockname()[1], received


def wait(predicate, timeout=3.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_tcp_request_reply_and_close():
    port, received = echo_server()
    replies, closed = [], []
    client = Connection(connect(f"127.0.0.1:{port}"), initiator=True,
                        on_message=replies.append, on_close=closed.append).start()
    assert client.wait_open(2)
    for seq in range(20):
        client.send(m.HealthCheck(cp_id="CP1", seq=seq))
    wait(lambda: len(replies) == 20)
    assert [r.seq for r in replies] == list(range(20))
    client.close()
    assert closed == ["closed by us"]


class Keyed:
    """A codec standing in for sealing: the control plane's JSON behind a key id."""

    def __init__(self, key_id: bytes):
        self.key_id = key_id
        self.decoded = []

    def encode(self, message) -> bytes:
        return self.key_id + m.CONTROL_CODEC.encode(message)

    def decode(self, payload: bytes):
        if not payload.startswith(self.key_id):
            raise FormatViolation("not under this key")
        message = m.CONTROL_CODEC.decode(payload[len(self.key_id):])
        self.decoded.append(message)
        return message


def test_both_ends_switch_codec_after_login():
    server = socket.create_server(("127.0.0.1", 0))
    server_key, client_key = Keyed(b"K1:"), Keyed(b"K1:")
    served = {}

    def on_server_message(message):
        conn = served["conn"]
        if isinstance(message, m.Hello):
            conn.send(m.Welcome(cp_id=message.cp_id, enabled=True, price_eur_kwh="0.3"))
            conn.codec = server_key  # the key exists once the CP has logged in
        else:
            conn.send(message)

    def serve():
        sock, _ = server.accept()
        served["conn"] = Connection(SocketStream(sock), initiator=False,
                                    on_message=on_server_message)
        served["conn"].start()

    threading.Thread(target=serve, daemon=True).start()
    replies = []

    def on_client_message(message):
        if isinstance(message, m.Welcome):
            client.codec = client_key
            client.send(m.HealthCheck(cp_id="CP1", seq=1))
        replies.append(message)

    client = Connection(connect(f"127.0.0.1:{server.getsockname()[1]}"), initiator=True,
                        on_message=on_client_message).start()
    assert client.codec is m.CONTROL_CODEC
    assert client.wait_open(2)
    client.send(m.Hello(cp_id="CP1"))
    wait(lambda: len(replies) == 2)
    assert [type(r) for r in replies] == [m.Welcome, m.HealthCheck]
    assert [r.seq for r in server_key.decoded] == [1] == [r.seq for r in client_key.decoded]
    client.close()


def test_peer_vanishing_closes_the_connection():
    server = socket.create_server(("127.0.0.1", 0))
    closed = []
    Connection(connect(f"127.0.0.1:{server.getsockname()[1]}"), initiator=True,
                        on_message=lambda msg: None, on_close=closed.append).start()
    sock, _ = server.accept()
    sock.close()
    wait(lambda: closed)
    assert closed == ["connection lost"]


def test_serial_url_loop():
    port = SerialStream.open("loop://")
    port.write(b"\x05")
    assert port.read(0.2) == b"\x05"
    port.close()


def test_serial_pty_pair():
    main_fd, sub_fd = os.openpty()
    sub_name = os.ttyname(sub_fd)
    replies = []
    engine = Connection(SerialStream.open(sub_name), initiator=False, name="engine",
                        on_message=lambda msg: engine.send(msg))
    engine.start()
    monitor = Connection(SerialStream(_FdPort(main_fd)), initiator=True, on_message=replies.append)
    monitor.start()
    assert monitor.wait_open(2)
    monitor.send(m.Hello(cp_id="CP1"))
    wait(lambda: replies)
    assert replies[0].cp_id == "CP1"
    monitor.close()
    engine.close()


class _FdPort:
    """The pty's main side as a minimal pyserial-like port."""

    portstr = "pty-main"

    def __init__(self, fd):
        self.fd = fd
        self.timeout = 0.05
        self.in_waiting = 0

    def read(self, size):
        import select

        ready, _, _ = select.select([self.fd], [], [], self.timeout)
        return os.read(self.fd, 4096) if ready else b""

    def write(self, data):
        os.write(self.fd, data)

    def close(self):
        os.close(self.fd)


def test_wait_open_is_true_for_a_link_that_opened_and_closed_in_one_read():
    server = socket.create_server(("127.0.0.1", 0))
    raw = socket.create_connection(server.getsockname())
    sock, _ = server.accept()
    sock.sendall(b"\x06\x04")  # ACK then EOT together, before the reader runs
    assert raw.recv(2, socket.MSG_PEEK | socket.MSG_WAITALL) == b"\x06\x04"  # both arrived
    client = Connection(SocketStream(raw), initiator=True, on_message=lambda msg: None)
    client.start()
    assert client.wait_open(1)
    wait(lambda: not client.is_open)
    sock.close()
