"""The MQTT uplink: drains the outbox to the broker with QoS 1, deleting rows on PUBACK.

paho-mqtt (callback API 2) keeps one MQTT 3.1.1 persistent session (``cp-<cp_id>``,
clean_session off) and reconnects by itself; a last will marks the CP ``offline`` on
``evcharging/cp/<id>/status`` (retained) and each connection publishes ``online``.

Every payload is sealed (:mod:`edge.keys`) with the CP's key at publish time: the
outbox keeps plaintext, so whatever waits in it goes out under the newest key.  The
uplink connects only once it has a key (its monitor hands one over after each login)
and connects again on each new key, so that its last will, sealed when it connects,
is always under the current key; with no key, or a revoked one, the outbox waits.

One publisher thread owns the sending and the connection: it reads outbox rows in
``seq`` order into a bounded in-flight :class:`Window` (mid -> seq) and deletes a row
only when the broker's PUBACK for it comes back.  paho's callbacks only queue events
for that thread (``on_publish`` runs under paho's own lock, so it must not wait for
ours), tagged with the connection they belong to.  On every (re)connection the window
starts afresh from the oldest row: rows in flight when the link dropped are published
again; duplicates are fine, every message has an ``id``.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import ssl
import threading
import time
from collections.abc import Callable

from edge import keys
from edge.engine.outbox import Outbox
from edge.engine.publishing import WINDOW, Outage, Window, topic_kind
from protocol import messages
from protocol import seal as s
from protocol.data import CpStatus
from protocol.topics import mqtt_topic
from protocol.transport import parse_address
from runtime.mqtt import connect_failure

log = logging.getLogger(__name__)

KEEPALIVE_S = 15
OUTBOX_KIND = {"events": "event", "telemetry": "telemetry", "status": "status"}
__all__ = ["Uplink", "Outage", "Window", "topic_kind", "WINDOW"]


# -- the shell -----------------------------------------------------------------------
class Uplink:
    def __init__(
        self, cp_id: str, address: str, outbox: Outbox, *, username: str | None = None,
        password: str | None = None, tls: ssl.SSLContext | None = None, window: int = WINDOW,
        nonces: Callable[[], bytes] = s.new_nonce,
    ) -> None:
        import paho.mqtt.client as mqtt

        self.cp_id, self.address, self.outbox = cp_id, address, outbox
        self.connected = False  # as paho last said (for the panel)
        self._key: s.Key | None = None  # the publisher thread's
        self._nonces = nonces
        self._live = False  # as the publisher thread knows it
        self._connection = 0  # which connection paho's events belong to (its userdata)
        self._looping = False  # paho's network thread runs
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
        self._thread = threading.Thread(target=self._run, name="uplink", daemon=True)

    def start(self) -> Uplink:
        """Start the publisher; it connects once it has a key (:meth:`use_key`)."""
        self._thread.start()
        log.info("MQTT uplink to %s waits for the CP's key from its monitor", self.address)
        return self

    def use_key(self, key: s.Key | None) -> None:
        """Seal with ``key`` from now on (None: the key was revoked, hold everything)."""
        self._events.put(("key", key))

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
        if self.connected and self._key is not None:
            info = self._client.publish(self._status_topic, self._status("offline", self._key),
                                        qos=1, retain=True)
            try:
                info.wait_for_publish(1)
            except (RuntimeError, ValueError):
                pass
        self._disconnect()

    # -- paho callbacks (paho's thread): only queue events ----------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self._down(userdata, f"refused: {reason_code}")
            return
        self.connected = True
        self._events.put(("up", userdata))

    def _on_connect_fail(self, client, userdata) -> None:
        self._down(userdata, connect_failure())

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected = False
        self._set_will()
        if not self._closing:
            self._down(userdata, "link lost")

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        self._events.put(("ack", userdata, mid, not reason_code.is_failure, str(reason_code)))

    def _down(self, connection: int, reason: str) -> None:
        self.connected = False
        self._events.put(("down", connection, reason, time.monotonic()))

    def _set_will(self) -> None:
        """A fresh offline notice (new id and time) for the next connection's last will,
        sealed with the current key (none without a key)."""
        key = self._key
        if key is None:
            self._client.will_clear()
        else:
            self._client.will_set(self._status_topic, self._status("offline", key), qos=1,
                                  retain=True)

    def _status(self, status: str, key: s.Key) -> bytes:
        plain = messages.encode(CpStatus(cp_id=self.cp_id, status=status))
        return keys.seal_payload(key, self.cp_id, plain, self._nonces())

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
        if kind == "key":
            self._rekey(event[1])
        elif kind == "wake" or event[1] != self._connection:
            return  # nothing to do, or news of a connection already given up
        elif kind == "ack":
            _, _, mid, ok, reason = event
            seq = self._window.acked(mid, ok)
            if seq is not None:
                self.outbox.delete(seq)
            elif not ok:
                log.warning("MQTT broker refused a message (%s): kept for the next connection",
                            reason)
        elif kind == "up" and self._key is not None:
            self._live = True
            self._window.reset()
            self._client.publish(self._status_topic, self._status("online", self._key), qos=1,
                                 retain=True)
            log.info("%s", self._outage.connected(time.monotonic(), self.outbox.rows))
        elif kind == "down":
            self._live = False
            self._window.reset()
            line = self._outage.lost(event[3], event[2])
            if line:
                log.warning("%s", line)

    def _rekey(self, key: s.Key | None) -> None:
        """A new key (connect again, so that the last will is sealed with it) or none."""
        if key == self._key:
            return
        self._key = key
        self._disconnect()
        if key is None:
            log.warning("key revoked: MQTT uplink holds the outbox (%d rows) until a new key",
                        self.outbox.rows)
            return
        log.info("MQTT payloads are sealed with key %s from now on", key.key_id)
        self._connection += 1
        self._client.user_data_set(self._connection)
        self._set_will()
        self._client.connect_async(self._host, self._port, keepalive=KEEPALIVE_S)
        self._client.loop_start()
        self._looping = True

    def _disconnect(self) -> None:
        """End the connection cleanly (the broker drops its last will) and paho's thread;
        what that connection still reports is ignored."""
        self._live = False
        self._window.reset()
        self._connection += 1
        if not self._looping:
            return
        self._looping = False
        self._client.disconnect()
        try:
            self._client.loop_stop()
        except AttributeError:  # paho's thread ended between its check and its join
            pass
        self.connected = False

    def _send_some(self) -> bool:
        """Publish what fits in the window, sealed with the key; True if anything was sent."""
        window, key = self._window, self._key
        if not self._live or key is None or not window.free:
            return False
        rows = self.outbox.pending(window.free, after=window.after)
        for row in rows:
            try:
                payload = keys.seal_payload(key, self.cp_id, row.payload, self._nonces())
            except ValueError as error:  # not one of our messages: it can never be sent
                log.error("outbox row %d (%s) dropped: %s", row.seq, row.type, error)
                self.outbox.delete(row.seq)
                continue
            info = self._client.publish(row.topic, payload, qos=1)
            window.sent(row.seq, info.mid)
        return bool(rows)
