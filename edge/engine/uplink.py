"""The MQTT uplink: drains the outbox to the broker with QoS 1, deleting rows on PUBACK.

paho-mqtt (callback API 2) keeps one MQTT 3.1.1 persistent session (``cp-<cp_id>``,
clean_session off) and reconnects by itself; a last will marks the CP ``offline`` on
``evcharging/cp/<id>/status`` (retained) and each connection publishes ``online``.

One publisher thread owns the sending: it reads outbox rows in ``seq`` order into a
bounded in-flight :class:`Window` (mid -> seq) and deletes a row only when the
broker's PUBACK for it comes back.  paho's callbacks only queue events for that thread
(``on_publish`` runs under paho's own lock, so it must not wait for ours).  On every
(re)connection the window starts afresh from the oldest row: rows in flight when the
link dropped are published again; duplicates are fine, every message has an ``id``.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import ssl
import threading
import time
from dataclasses import dataclass, field

from edge.engine.outbox import Outbox
from protocol import messages
from protocol.data import KIND_TYPES, CpStatus
from protocol.topics import mqtt_topic
from protocol.transport import parse_address
from runtime.mqtt import connect_failure

log = logging.getLogger(__name__)

WINDOW = 100
KEEPALIVE_S = 15
OUTBOX_KIND = {"events": "event", "telemetry": "telemetry", "status": "status"}


def topic_kind(message: messages.Message) -> str:
    """The MQTT topic kind (``events``, ``telemetry``, ``status``) a message goes to."""
    for kind, types in KIND_TYPES.items():
        if message.TYPE in types:
            return kind
    raise ValueError(f"a {message.TYPE} message has no place on the data plane")


# -- pure decisions ------------------------------------------------------------------
@dataclass
class Window:
    """Rows in flight: which ``mid`` carries which ``seq``; at most ``size`` at a time."""

    size: int = WINDOW
    after: int = 0  # highest seq published since the last reset
    inflight: dict[int, int] = field(default_factory=dict)

    @property
    def free(self) -> int:
        return max(0, self.size - len(self.inflight))

    def sent(self, seq: int, mid: int) -> None:
        self.inflight[mid] = seq
        self.after = max(self.after, seq)

    def acked(self, mid: int, ok: bool) -> int | None:
        """The seq to delete for this PUBACK (None: not ours, or the broker refused it)."""
        seq = self.inflight.pop(mid, None)
        return seq if ok else None

    def reset(self) -> None:
        """A new connection: publish again from the oldest row still in the outbox."""
        self.after = 0
        self.inflight.clear()


@dataclass
class Outage:
    """One log line per outage, not one per failed attempt."""

    address: str
    down_since: float | None = None
    logged: bool = False
    ever_up: bool = False

    def lost(self, now: float, reason: str) -> str | None:
        if self.down_since is None:
            self.down_since = now
        if self.logged:
            return None
        self.logged = True
        return f"cannot reach MQTT broker at {self.address}, retrying ({reason})"

    def connected(self, now: float, backlog: int) -> str:
        was, again = self.down_since, self.ever_up
        self.down_since, self.logged, self.ever_up = None, False, True
        if again and was is not None:
            return (f"MQTT uplink back on {self.address} after {now - was:.1f} s "
                    f"(outbox {backlog} rows)")
        return f"MQTT uplink connected to {self.address} (outbox {backlog} rows)"


# -- the shell -----------------------------------------------------------------------
class Uplink:
    def __init__(
        self, cp_id: str, address: str, outbox: Outbox, *, username: str | None = None,
        password: str | None = None, tls: ssl.SSLContext | None = None, window: int = WINDOW,
    ) -> None:
        import paho.mqtt.client as mqtt

        self.cp_id, self.address, self.outbox = cp_id, address, outbox
        self.connected = False  # as paho last said (for the panel)
        self._live = False  # as the publisher thread knows it
        self._host, self._port = parse_address(address)
        self._status_topic = mqtt_topic(cp_id, "status")
        self._window = Window(window)
        self._outage = Outage(address)
        self._events: queue.Queue[tuple] = queue.Queue()
        self._closing = False
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"cp-{cp_id}",
                             clean_session=False, protocol=mqtt.MQTTv311)
        if username or password:
            client.username_pw_set(username or cp_id, password)
        if tls:
            client.tls_set_context(tls)
        client.max_inflight_messages_set(window)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(0.2, 2)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        self._client = client
        self._set_will()
        self._thread = threading.Thread(target=self._run, name="uplink", daemon=True)

    def start(self) -> Uplink:
        self._thread.start()
        self._client.connect_async(self._host, self._port, keepalive=KEEPALIVE_S)
        self._client.loop_start()
        return self

    def publish(self, message: messages.Message) -> None:
        """Store ``message`` in the outbox (durable), then let the publisher send it."""
        kind = topic_kind(message)
        try:
            self.outbox.put(mqtt_topic(self.cp_id, kind), messages.encode(message),
                            OUTBOX_KIND[kind], message.TYPE)
        except sqlite3.Error as error:
            log.error("cannot store a %s message in the outbox: %s", message.TYPE, error)
            return
        self._events.put(("wake",))

    @property
    def depth(self) -> int:
        return self.outbox.rows

    def close(self, flush_s: float = 2.0) -> None:
        """Give the outbox ``flush_s`` to drain, say ``offline``, and disconnect."""
        deadline = time.monotonic() + flush_s
        while self.connected and self.outbox.rows and time.monotonic() < deadline:
            time.sleep(0.05)
        self._closing = True
        self._events.put(("stop",))
        self._thread.join(2)
        if self.connected:
            info = self._client.publish(self._status_topic, self._status("offline"), qos=1,
                                        retain=True)
            try:
                info.wait_for_publish(1)
            except (RuntimeError, ValueError):
                pass
        self._client.disconnect()
        self._client.loop_stop()

    # -- paho callbacks (paho's thread): only queue events ----------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self._down(f"refused: {reason_code}")
            return
        self.connected = True
        self._events.put(("up",))

    def _on_connect_fail(self, client, userdata) -> None:
        self._down(connect_failure())

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected = False
        self._set_will()
        if not self._closing:
            self._down("link lost")

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        self._events.put(("ack", mid, not reason_code.is_failure, str(reason_code)))

    def _down(self, reason: str) -> None:
        self.connected = False
        self._events.put(("down", reason, time.monotonic()))

    def _set_will(self) -> None:
        """A fresh offline notice (new id and time) for each connection's last will."""
        self._client.will_set(self._status_topic, self._status("offline"), qos=1, retain=True)

    def _status(self, status: str) -> bytes:
        return messages.encode(CpStatus(cp_id=self.cp_id, status=status))

    # -- the publisher thread ------------------------------------------------------------
    def _run(self) -> None:
        busy = False
        while True:
            try:
                event = self._events.get(timeout=0.02 if busy else 0.5)
            except queue.Empty:
                event = ("wake",)
            while True:
                if event[0] == "stop":
                    return
                self._handle(event)
                try:
                    event = self._events.get_nowait()
                except queue.Empty:
                    break
            busy = self._send_some()

    def _handle(self, event: tuple) -> None:
        kind = event[0]
        if kind == "ack":
            _, mid, ok, reason = event
            seq = self._window.acked(mid, ok)
            if seq is not None:
                self.outbox.delete(seq)
            elif not ok:
                log.warning("MQTT broker refused a message (%s): kept for the next connection",
                            reason)
        elif kind == "up":
            self._live = True
            self._window.reset()
            self._client.publish(self._status_topic, self._status("online"), qos=1, retain=True)
            log.info("%s", self._outage.connected(time.monotonic(), self.outbox.rows))
        elif kind == "down":
            self._live = False
            self._window.reset()
            line = self._outage.lost(event[2], event[1])
            if line:
                log.warning("%s", line)

    def _send_some(self) -> bool:
        """Publish what fits in the window; True if anything was sent."""
        window = self._window
        if not self._live or not window.free:
            return False
        rows = self.outbox.pending(window.free, after=window.after)
        for row in rows:
            info = self._client.publish(row.topic, row.payload, qos=1)
            window.sent(row.seq, info.mid)
        return bool(rows)
