"""The CP socket server against fake monitors on real loopback sockets.

Most tests run the server in-process (its own thread and loop, as in ``ev-central``);
the last ones run ``ev-central`` as a real process.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from cloud.central.cp_server import CpServer
from cloud.central.fleet import Fleet
from cloud.central.store import Store
from protocol import auth, key_wrap, seal
from protocol import messages as m
from protocol.framing import ACK, ENQ, EOT, NAK, encode_frame, lrc
from protocol.transport import Connection, connect
from tests.support import BIN, bound, free_port, spawn, stop, wait_for, wait_port


class FakeMonitor:
    """The central side of a monitor: a real framed link, messages into a queue.  On
    Welcome it unwraps its key with its secret and seals every frame after (the codec is
    switched on the link's reader thread, before the next frame is read)."""

    def __init__(self, address: str, cp_id: str) -> None:
        self.cp_id = cp_id
        self.inbox: queue.Queue = queue.Queue()
        self.closed = False
        self.key: seal.Key | None = None
        self._wrapping: bytes | None = None
        self.conn = Connection(connect(address), initiator=True, on_message=self._received,
                               on_close=self._closed, name=f"fake-{cp_id}")
        self.conn.start()
        assert self.conn.wait_open(2)

    def _received(self, message: m.Message) -> None:
        if isinstance(message, m.Welcome) and self._wrapping is not None:
            self.key = key_wrap.unwrap(message.wrapped_key, message.key_id, self._wrapping,
                                   self.cp_id)
            self.conn.codec = seal.SealingCodec(m.CONTROL_CODEC, self.cp_id, self.key)
        self.inbox.put(message)

    def _closed(self, reason: str) -> None:
        self.closed = True

    def send(self, message: m.Message) -> None:
        assert self.conn.send(message)

    def expect(self, cls: type, timeout: float = 2.0):
        deadline = time.monotonic() + timeout
        while True:
            message = self.inbox.get(timeout=max(0.01, deadline - time.monotonic()))
            if isinstance(message, cls):
                return message

    def login(self, secret: str, location: str | None = None) -> m.Message:
        self.send(m.Hello(cp_id=self.cp_id, location=location))
        reply = self.expect((m.Challenge, m.Refused))
        if isinstance(reply, m.Refused):
            return reply
        self._wrapping = key_wrap.wrapping_key(auth.secret_key(secret), reply.nonce, self.cp_id)
        self.send(m.Authenticate(cp_id=self.cp_id, hmac=auth.proof(secret, reply.nonce,
                                                                     self.cp_id)))
        return self.expect((m.Welcome, m.Refused))

    def heartbeat(self, engine: str = "OK", state: str = "available", **fields) -> None:
        self.send(m.Heartbeat(cp_id=self.cp_id, engine=engine, state=state, **fields))

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def central(tmp_path):
    store = Store(str(tmp_path / "central.db"))
    secrets = {cp: store.add_cp(cp, f"street {cp}", "0.35") for cp in ("CP1", "CP2")}
    store.add_driver("D1")
    fleet = Fleet(store)
    server = CpServer(fleet, "127.0.0.1", 0).start()
    host, port = server.address
    yield {"fleet": fleet, "store": store, "secrets": secrets, "address": f"{host}:{port}"}
    server.stop()
    store.close()


def online(central, cp_id: str = "CP1", location: str | None = None) -> FakeMonitor:
    monitor = FakeMonitor(central["address"], cp_id)
    assert isinstance(monitor.login(central["secrets"][cp_id], location), m.Welcome)
    monitor.heartbeat()
    wait_for(lambda: central["fleet"].cp(cp_id)["state"] == "ACTIVATED", 2)
    return monitor


def state(central, cp_id: str = "CP1") -> str:
    return central["fleet"].cp(cp_id)["state"]


def test_authenticated_cp_is_welcomed_and_heartbeats_make_it_activated(central):
    monitor = FakeMonitor(central["address"], "CP1")
    welcome = monitor.login(central["secrets"]["CP1"], location="Plaza 2")
    assert isinstance(welcome, m.Welcome)
    assert welcome.enabled is True and welcome.price_eur_kwh == "0.35"
    monitor.heartbeat()
    wait_for(lambda: state(central) == "ACTIVATED", 2)
    assert central["fleet"].cp("CP1")["location"] == "Plaza 2"
    assert central["store"].cp("CP1")["location"] == "Plaza 2"


def test_engine_fault_makes_it_broken_and_recovery_activated(central):
    monitor = online(central)
    monitor.send(m.EngineStatus(cp_id="CP1", engine="KO", reason="fault button"))
    wait_for(lambda: state(central) == "BROKEN", 2)
    monitor.send(m.EngineStatus(cp_id="CP1", engine="OK"))
    wait_for(lambda: state(central) == "ACTIVATED", 2)
    texts = [x["text"] for x in central["fleet"].messages()]
    assert any("KO" in text for text in texts) and "engine recovered" in texts


@pytest.mark.latency
def test_closed_link_is_disconnected_within_half_a_second(central):
    monitor = online(central)
    monitor.close()
    wait_for(lambda: state(central) == "DISCONNECTED", bound(0.5))


@pytest.mark.latency
def test_silent_cp_is_disconnected_after_three_seconds(central):
    monitor = online(central)
    silent_since = time.monotonic()
    wait_for(lambda: state(central) == "DISCONNECTED", bound(4))
    assert time.monotonic() - silent_since >= 2.9  # not before its 3 s
    monitor.heartbeat()
    wait_for(lambda: state(central) == "ACTIVATED", bound(1))


@pytest.mark.parametrize(("cp_id", "secret", "reason"), [
    ("CP1", "not-the-secret", "wrong secret"),
    ("CP9", "whatever", "CP CP9 is not registered"),
])
def test_wrong_secret_and_unknown_cp_are_refused_and_closed(central, cp_id, secret, reason):
    monitor = FakeMonitor(central["address"], cp_id)
    refused = monitor.login(secret)
    assert isinstance(refused, m.Refused) and refused.reason == reason
    wait_for(lambda: monitor.closed, 3)
    assert central["fleet"].metrics()["auth_refusals_total"] == 1
    assert state(central, "CP1") == "DISCONNECTED"


def test_messages_before_authentication_are_refused(central):
    monitor = FakeMonitor(central["address"], "CP1")
    monitor.heartbeat()
    assert isinstance(monitor.expect(m.Refused), m.Refused)
    wait_for(lambda: monitor.closed, 3)
    assert state(central) == "DISCONNECTED"


def raw_link(address: str) -> socket.socket:
    host, port = address.split(":")
    sock = socket.create_connection((host, int(port)), timeout=2)
    sock.sendall(bytes([ENQ]))
    assert sock.recv(1) == bytes([ACK])
    return sock


def drain(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection.  A server that drops
    a link while our bytes are still unread in its socket makes the kernel answer with
    RST, which can overtake its EOT: that counts as a dropped link too."""
    data = b""
    try:
        while chunk := sock.recv(4096):
            data += chunk
    except ConnectionResetError:
        return data + b"<reset>"
    return data


def bad_inputs() -> list[bytes]:
    good = m.encode(m.Heartbeat(cp_id="CP1", engine="OK"))
    return [
        os.urandom(300).translate(bytes.maketrans(b"\x02\x04\x05\x06\x15", b"xxxxx")),
        b"\x02" + good + b"\x03" + bytes([lrc(good) ^ 0x55]),
        encode_frame(b"x" * 60000) + b"\x02" + b"y" * 70000 + b"\x03\x00",
        encode_frame(b'{"type": "heartbeat", '),
        encode_frame(json.dumps({"type": "teleport", "id": "1", "cp_id": "CP1",
                                 "ts": m.utc_now()}).encode()),
    ]


@pytest.mark.parametrize("garbage", bad_inputs(), ids=["random", "bad-lrc", "oversize",
                                                       "invalid-json", "unknown-type"])
def test_garbage_is_naked_and_other_cps_are_unaffected(central, garbage):
    good = online(central, "CP2")
    before = central["fleet"].metrics()["frames_rejected_total"]
    sock = raw_link(central["address"])
    sock.sendall(garbage)
    answer = sock.recv(100)
    assert NAK in answer
    wait_for(lambda: central["fleet"].metrics()["frames_rejected_total"] > before, 2)
    try:
        for _ in range(4):  # bad frames in a row: the server drops the link
            sock.sendall(b"\x02zz\x03\x00")
    except (ConnectionResetError, BrokenPipeError):
        pass  # dropped already: the oversize input alone is 4 bad frames
    closing = drain(sock)
    assert EOT in closing or closing.endswith(b"<reset>")
    good.heartbeat()
    central["fleet"].stop("CP2")
    assert good.expect(m.Command).action == "stop"
    assert state(central, "CP2") == "STOPPED"
    sock.close()


class SlowRegistry:
    """Credentials that take a second to look up: handling a Hello is slow."""

    def __init__(self, registry) -> None:
        self.registry = registry

    def knows(self, cp_id: str) -> bool:
        time.sleep(1.0)
        return self.registry.knows(cp_id)

    def secret_key(self, cp_id: str):
        return self.registry.secret_key(cp_id)


def test_a_frame_is_acknowledged_before_what_it_carries_is_handled(tmp_path):
    """However slow the handling (thousands of records at once), the link's ACK does not
    wait for it: a CP never resends, nor drops its link, for want of an ACK."""
    store = Store(str(tmp_path / "central.db"))
    store.add_cp("CP1", "street", "0.35")
    server = CpServer(Fleet(store), "127.0.0.1", 0)
    server.registry = SlowRegistry(server.registry)
    server.start()
    try:
        host, port = server.address
        sock = raw_link(f"{host}:{port}")
        sent = time.monotonic()
        sock.sendall(encode_frame(m.encode(m.Hello(cp_id="CP1"))))
        assert sock.recv(1) == bytes([ACK])
        acked = time.monotonic() - sent
        challenge = sock.recv(4096)
        handled = time.monotonic() - sent
        assert m.decode(challenge[1:-2]).TYPE == "challenge"
        assert acked < 0.5 <= 1.0 <= handled, (acked, handled)
        sock.close()
    finally:
        server.stop()
        store.close()


def test_a_second_connection_replaces_the_first(central):
    first = online(central)
    second = online(central)
    wait_for(lambda: first.closed, 2)
    beats = central["fleet"].metrics()["heartbeats_total"]
    second.heartbeat()  # handled after the first link's close: that did not disconnect it
    wait_for(lambda: central["fleet"].metrics()["heartbeats_total"] > beats, 2)
    assert state(central) == "ACTIVATED"


def test_stop_persists_and_is_sent_again_after_reconnecting(central):
    monitor = online(central)
    central["fleet"].stop("CP1", actor="tester")
    assert monitor.expect(m.Command).action == "stop"
    monitor.close()
    again = FakeMonitor(central["address"], "CP1")
    welcome = again.login(central["secrets"]["CP1"])
    assert welcome.enabled is False
    assert again.expect(m.Command).action == "stop"
    again.heartbeat(state="stopped")
    wait_for(lambda: state(central) == "STOPPED", 2)


def test_supply_request_started_and_ended_records_are_acked_once(central):
    monitor = online(central)
    monitor.send(m.SupplyRequest(cp_id="CP1", source="card", driver_id="D1"))
    command = monitor.expect(m.Command)
    assert command.action == "authorize" and command.driver_id == "D1"
    wait_for(lambda: state(central) == "AUTHORIZED", 1)
    started = m.SupplyStarted(cp_id="CP1", session_id=command.session_id,
                              started_at=m.utc_now(), price_eur_kwh="0.35", driver_id="D1")
    for _ in range(2):
        monitor.send(started)
        assert monitor.expect(m.RecordAck).ref == started.id
    wait_for(lambda: state(central) == "SUPPLYING", 1)
    ended = m.SupplyEnded(cp_id="CP1", session_id=command.session_id, started_at=started.started_at,
                          ended_at=m.utc_now(), kwh="1.5", eur="0.525", price_eur_kwh="0.35",
                          reason="unplugged", driver_id="D1")
    for _ in range(2):
        monitor.send(ended)
        assert monitor.expect(m.RecordAck).session_id == command.session_id
    wait_for(lambda: state(central) == "ACTIVATED", 1)
    [session] = central["fleet"].sessions(cp_id="CP1")
    assert (session["status"], session["kwh"], session["eur"]) == ("ended", "1.5", "0.525")
    assert central["fleet"].metrics()["supplies_ended_total"] == 1


def test_the_sweep_samples_the_fleet_power(central):
    [point] = wait_for(lambda: central["fleet"].power()["points"], 2)  # the first sweep's
    assert point["kw"] == "0"


# -- ev-central as a real process --------------------------------------------------------
def run(*args: str, db) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "ev-central"), *args, "--db", str(db)],
                          capture_output=True, text=True, timeout=30)


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=2) as response:
        return json.loads(response.read())


@pytest.mark.integration
def test_ev_central_process_serves_registered_cps(tmp_path, output_dir):
    db = tmp_path / "central.db"
    added = run("cp", "add", "CP1", "--location", "Calle Mayor 1", "--price", "0.30", db=db)
    assert added.returncode == 0, added.stderr
    secret = added.stdout.strip().splitlines()[-1]
    assert run("driver", "add", "D1", db=db).returncode == 0
    listen, http = free_port(), free_port()
    process = spawn(["ev-central", "--listen", f"127.0.0.1:{listen}", "--http",
                     f"127.0.0.1:{http}", "--db", str(db), "--admin-token", "tok"],
                    output_dir / "central.log")
    try:
        wait_port(listen)
        wait_port(http)
        monitor = FakeMonitor(f"127.0.0.1:{listen}", "CP1")
        assert isinstance(monitor.login(secret), m.Welcome)
        monitor.heartbeat()
        url = f"http://127.0.0.1:{http}/api/cps/CP1"
        wait_for(lambda: get_json(url)["state"] == "ACTIVATED", 3)
        busy = run("--listen", f"127.0.0.1:{listen}", "--http", f"127.0.0.1:{free_port()}",
                   db=tmp_path / "other.db")
        assert busy.returncode == 2
        assert len(busy.stderr.strip().splitlines()) == 1 and "--listen" in busy.stderr
        monitor.close()
        wait_for(lambda: get_json(url)["state"] == "DISCONNECTED", 1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(5) == 0
    finally:
        stop(process)
    log = (output_dir / "central.log").read_text()
    assert secret not in log and "dashboard: http://127.0.0.1:" in log
