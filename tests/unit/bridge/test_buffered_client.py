"""The bridge's MQTT client: buffered reads, the PUBLISH fast path, batched PUBACKs."""

import socket
import struct

import paho.mqtt.client as paho
import pytest

from bridge.buffered_client import BufferedClient


def publish(topic: bytes, payload: bytes, mid: int, qos: int = 1) -> bytes:
    body = struct.pack("!H", len(topic)) + topic
    if qos:
        body += struct.pack("!H", mid)
    body += payload
    length, remaining = b"", len(body)
    while True:
        byte, remaining = remaining % 128, remaining // 128
        length += bytes([byte | (128 if remaining else 0)])
        if not remaining:
            break
    return bytes([0x30 | qos << 1]) + length + body


@pytest.fixture
def wired():
    client = BufferedClient(paho.CallbackAPIVersion.VERSION2, client_id="t",
                            clean_session=False, protocol=paho.MQTTv311)
    client.manual_ack_set(True)
    client.on_socket_register_write = lambda *args: None
    ours, broker = socket.socketpair()
    ours.setblocking(False)
    client._sock = ours
    got = []
    client.on_publish_received = lambda *args: got.append(args)
    yield client, broker, got
    broker.close()
    client._sock_close()


def test_one_recv_serves_many_packets(wired):
    client, broker, got = wired
    big = b"x" * 300  # a two-byte remaining length
    broker.sendall(publish(b"a/b", b"{}", 1) + publish(b"c", big, 2) + publish(b"d", b"", 0, 0))
    assert client.loop_read() == 0
    assert client.buffered()
    assert client.loop_read() == 0 and client.loop_read() == 0
    assert not client.buffered()
    assert got == [(b"a/b", b"{}", 1, 1), (b"c", big, 2, 1), (b"d", b"", 0, 0)]
    assert client.loop_read() == 0  # nothing more: no error, nothing handled
    assert len(got) == 3


def test_a_packet_split_over_reads_is_put_together(wired):
    client, broker, got = wired
    packet = publish(b"t", b"payload", 7)
    broker.sendall(packet[:4])
    assert client.loop_read() == 0 and got == []
    broker.sendall(packet[4:])
    assert client.loop_read() == 0
    assert got == [(b"t", b"payload", 7, 1)]


def test_without_the_fast_path_paho_hands_an_mqtt_message(wired):
    client, broker, _ = wired
    client.on_publish_received = None
    messages = []
    client.on_message = lambda c, u, message: messages.append(message)
    broker.sendall(publish(b"a/b", b"{}", 9))
    client.loop_read()
    assert [(m.topic, m.payload, m.mid, m.qos) for m in messages] == [("a/b", b"{}", 9, 1)]


@pytest.mark.parametrize("bad", [b"\x32\x01\x00", b"\x32\x02\x00\x00", b"\x32\x04\x00\x05ab"])
def test_malformed_publish_drops_the_connection(wired, bad):
    client, broker, got = wired
    broker.sendall(bad)
    assert client.loop_read() != 0
    assert client.socket() is None and got == []


def test_pubacks_go_out_in_one_write_with_the_same_bytes(wired):
    client, broker, _ = wired
    client.queue_pubacks([1, 2, 300])
    client.loop_write()
    expected = b"".join(struct.pack("!BBH", 0x40, 2, mid) for mid in (1, 2, 300))
    assert broker.recv(100) == expected
