"""The MQTT shell and the wiring: paho receives, :func:`route` decides, Kafka confirms,
then the MQTT message is acknowledged.

- MQTT 3.1.1 persistent session (``clean_session=False``, a stable client id): what CPs
  publish while the bridge is down is queued by the broker and delivered on return.
- Manual acks: a PUBACK goes out only after Kafka's delivery report for the record (or
  for its dead letter).  Acks are tagged with the connection they came from; a record
  confirmed after that connection was lost is not acked (the broker redelivers it on
  the new connection and it is relayed again: at least once, consumers dedupe by id).
- One I/O thread drives both clients: it selects on the MQTT socket, lets paho read
  (through a receive buffer: one ``recv`` for many packets), submits each message to
  the :class:`~bridge.relay.Relayer`, polls the Kafka producer and writes the PUBACKs
  of what Kafka confirmed in one ``send``.  Delivery reports therefore arrive on the
  thread that owns the MQTT connection: no locks, no cross-thread wake-ups.  While
  ``max_in_flight`` records await Kafka it stops reading MQTT.  Reconnects with paho's
  1..5 s backoff, like ``loop_forever``.
- Shared subscription ``$share/bridges/...``: several bridges with different client ids
  share the load.  The broker queues a dead bridge's share until it returns.
"""

from __future__ import annotations

import logging
import select
import ssl
import threading
import time
from collections.abc import Hashable

import paho.mqtt.client as paho

from bridge.buffered_client import BufferedClient
from bridge.relay import Relayer
from bridge.route import DeadLetter, dead_letter_record, route
from bridge.watch import KafkaWatch
from protocol.messages import utc_now
from protocol.topics import mqtt_subscription
from runtime import systemd
from runtime.mqtt import connect_failure

log = logging.getLogger(__name__)

DEAD_LETTER_LOGS, DEAD_LETTER_WINDOW = 10, 10.0  # lines per window; counters say the rest
READ_BATCH = 1000  # MQTT packets handled between two Kafka polls
IDLE_WAIT = 0.1  # s to wait for MQTT traffic when nothing awaits Kafka
REPORT_WAIT = 0.002  # s to wait for MQTT traffic while records await Kafka
SLOW_REPORT_WAIT = 0.02  # the same when Kafka confirmed nothing for 0.1 s
MISC_EVERY = 0.25  # s between keepalive checks


class Bridge:
    def __init__(self, mqtt: tuple[str, int], kafka: str, client_id: str,
                 username: str | None = None, password: str | None = None,
                 tls: ssl.SSLContext | None = None, shared: bool = False,
                 max_in_flight: int = 2000) -> None:
        self.mqtt_address = f"{mqtt[0]}:{mqtt[1]}"
        self._mqtt = mqtt
        self.subscription = mqtt_subscription(shared)
        self._generation = 0  # bumped on every MQTT connect; acks carry it
        self._stopping = threading.Event()
        self._flush_until = 0.0  # monotonic deadline of the drain on stop
        self._left = 0
        self._mqtt_down = False
        self._dead_logs = (0.0, 0)  # (window start, lines logged in it)
        self._acks: list[int] = []  # mids Kafka confirmed, written after each poll
        self._reconnect_delay = 0.0
        self._reconnect_at = 0.0
        self.watch = KafkaWatch(kafka, on_change=self._kafka_changed)
        self.relayer = Relayer(kafka, on_delivered=self._ack, is_live=self._live,
                               on_missing_topic=self.watch.wake, max_in_flight=max_in_flight)
        client = BufferedClient(paho.CallbackAPIVersion.VERSION2, client_id=client_id,
                                clean_session=False, protocol=paho.MQTTv311)
        client.manual_ack_set(True)
        if username:
            client.username_pw_set(username, password)
        if tls:
            client.tls_set_context(tls)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.on_publish_received = self._on_publish
        # writes happen in the I/O loop, batched, not inside each queueing call
        client.on_socket_register_write = lambda client, userdata, sock: None
        self.client = client
        self.watchdog = systemd.Watchdog()  # kicked by the I/O loop only
        self._thread = threading.Thread(target=self._run, name="bridge-io", daemon=True)

    def start(self) -> Bridge:
        self.watch.start()
        self.relayer.start()
        self.client.connect_async(*self._mqtt, keepalive=30)
        self._thread.start()
        return self

    def snapshot(self) -> dict[str, int]:
        return self.relayer.counters.snapshot()

    # -- the I/O loop ------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            try:
                self._serve()
                return
            except Exception:  # a bug must not end the bridge's only I/O thread
                log.exception("the bridge's I/O loop failed: going on in 1 s")
                self._left = self.relayer.counters.in_flight
                time.sleep(1.0)

    def _serve(self) -> None:
        client, relayer = self.client, self.relayer
        next_misc = 0.0
        while True:
            self.watchdog.kick()
            stopping = self._stopping.is_set()
            if stopping and (not relayer.outstanding
                             or time.monotonic() >= self._flush_until):
                break
            sock = client.socket()
            if sock is None:
                self._reconnect_or_wait(stopping)
                continue
            reading = not stopping and not relayer.full
            if reading and client.buffered():
                self._read()
            else:
                wait = self._wait(reading)
                rlist = [sock] if reading else []
                wlist = [sock] if client.want_write() else []
                if rlist or wlist:
                    try:
                        readable, writable, _ = select.select(rlist, wlist, [], wait)
                    except (OSError, ValueError):
                        readable = writable = []
                    relayer.pump(0.0)
                else:  # full or draining: wait for Kafka instead
                    relayer.pump(wait)
                    readable = writable = []
                if readable:
                    self._read()
                elif writable:
                    client.loop_write()
            self._write_acks()
            now = time.monotonic()
            if now >= next_misc and client.socket() is not None:
                client.loop_misc()
                next_misc = now + MISC_EVERY
        self._write_acks()
        self._left = relayer.counters.in_flight
        self._disconnect()

    def _wait(self, reading: bool) -> float:
        """How long one select (or poll) may wait: short while Kafka owes reports."""
        relayer = self.relayer
        if not relayer.outstanding:
            wait = IDLE_WAIT
        elif relayer.quiet_for() < 0.1:
            wait = REPORT_WAIT
        else:  # Kafka is slow or away: fewer wake-ups while it is
            wait = SLOW_REPORT_WAIT
        if not reading:
            wait = min(0.02, wait * 10)
        due = relayer.next_due()
        if due is not None:
            wait = min(wait, max(0.0, due - time.monotonic()))
        return wait

    def _read(self) -> None:
        """Handle buffered and readable MQTT packets, up to a batch, then poll Kafka."""
        client, relayer = self.client, self.relayer
        for _ in range(READ_BATCH):
            if client.loop_read() or client.socket() is None:
                break  # connection lost: paho closed it and said so
            if not client.buffered() or relayer.full:
                break
        relayer.pump(0.0)

    def _write_acks(self) -> None:
        if self._acks and self.client.socket() is not None:
            acks, self._acks = self._acks, []
            self.client.queue_pubacks(acks)
        if self.client.want_write():
            self.client.loop_write()

    def _reconnect_or_wait(self, stopping: bool) -> None:
        """paho's loop_forever reconnect, 1 s doubling to 5 s, serving Kafka meanwhile."""
        now = time.monotonic()
        if stopping or now < self._reconnect_at:
            wait = 0.02 if stopping else min(self._reconnect_at - now, IDLE_WAIT)
            self.relayer.pump(wait)
            self._acks.clear()  # that connection is gone: its records come again
            return
        self._reconnect_delay = min(5.0, max(1.0, self._reconnect_delay * 2))
        self._reconnect_at = now + self._reconnect_delay
        self._generation += 1  # whatever Kafka confirms from now on is not acked here
        self._acks.clear()
        try:
            self.client.reconnect()
        except OSError:
            self._on_connect_fail(self.client, None)

    def _disconnect(self) -> None:
        """Acks first, then DISCONNECT, written before the thread ends (up to 2 s)."""
        client = self.client
        if client.socket() is None:
            return
        client.on_disconnect = lambda *args: None
        client.disconnect()
        deadline = time.monotonic() + 2.0
        while client.want_write() and (sock := client.socket()) is not None:
            if time.monotonic() >= deadline:
                break
            select.select([], [sock], [], 0.1)
            client.loop_write()

    # -- MQTT callbacks (the I/O thread) -------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason, properties) -> None:
        if reason.is_failure:
            log.error("MQTT broker at %s refused the connection: %s, retrying",
                      self.mqtt_address, reason)
            self._mqtt_down = True
            return
        self._generation += 1
        self._mqtt_down = False
        self._reconnect_delay = 0.0
        client.subscribe(self.subscription, qos=1)
        log.info("connected to MQTT broker at %s (session %s)", self.mqtt_address,
                 "resumed" if flags.session_present else "new")

    def _on_connect_fail(self, client, userdata) -> None:
        if not self._mqtt_down:
            log.warning("cannot reach MQTT broker at %s (%s), retrying", self.mqtt_address,
                        connect_failure())
            self._mqtt_down = True

    def _on_disconnect(self, client, userdata, flags, reason, properties) -> None:
        self._generation += 1  # the lost connection's records are not acked: redelivered
        self._acks.clear()
        if self._stopping.is_set() or self._mqtt_down:
            return
        log.warning("cannot reach MQTT broker at %s (%s), retrying", self.mqtt_address, reason)
        self._mqtt_down = True

    def _on_subscribe(self, client, userdata, mid, reasons, properties) -> None:
        if any(r.is_failure for r in reasons):
            log.error("MQTT broker at %s refused the subscription to %s",
                      self.mqtt_address, self.subscription)
        else:
            log.info("subscribed to %s", self.subscription)

    def _on_message(self, client, userdata, message: paho.MQTTMessage) -> None:
        """paho's own path (QoS 2, or a client without the fast one)."""
        self._on_publish(message._topic, message.payload, message.mid, message.qos)

    def _on_publish(self, topic: bytes, payload: bytes, mid: int, qos: int) -> None:
        if self._stopping.is_set():
            return  # left unacknowledged: the broker delivers it again next session
        try:
            self._relay(topic, payload, mid, qos)
        except Exception:  # a bug must not stop the I/O loop: keep the message unacked
            log.exception("could not relay a message on %r", topic[:100])

    def _relay(self, raw_topic: bytes, payload: bytes, mid: int, qos: int) -> None:
        topic = raw_topic.decode("utf-8", "replace")  # paho's .topic raises on bad UTF-8
        decision = route(topic, payload)
        if isinstance(decision, DeadLetter):
            self._log_dead_letter(topic, decision.reason)
            decision = dead_letter_record(decision, topic, payload, utc_now())
        self.relayer.submit(decision, (self._generation, mid, qos))

    def _log_dead_letter(self, topic: str, reason: str) -> None:
        start, count = self._dead_logs
        now = time.monotonic()
        if now - start > DEAD_LETTER_WINDOW:
            start, count = now, 0
        if count < DEAD_LETTER_LOGS:
            log.warning("dead letter from %s: %s", topic[:100], reason[:200])
        self._dead_logs = (start, count + 1)

    # -- Kafka side (the I/O thread, from Relayer.pump) -----------------------------------
    def _live(self, token: Hashable) -> bool:
        return token[0] == self._generation and not self._stopping.is_set()

    def _ack(self, token: Hashable) -> None:
        generation, mid, qos = token
        if generation == self._generation:
            if qos == 1:
                self._acks.append(mid)  # written in one batch after this poll
            elif qos == 2:
                self.client.ack(mid, qos)

    def _kafka_changed(self, up: bool) -> None:
        self.relayer.counters.kafka_up = up

    # -- shutdown ----------------------------------------------------------------------
    def stop(self, flush: float = 5.0) -> int:
        """Take no new message, let Kafka confirm for up to ``flush`` s, ack, disconnect."""
        self._flush_until = time.monotonic() + flush
        self._stopping.set()
        self._thread.join(flush + 3.0)
        self.watch.stop()
        return self._left
