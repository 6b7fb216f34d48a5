"""The Engine's runner: owns the lock, the clock, the devices and the journal.

Every input (a button callback on a gpiozero thread, a message on a link's reader
thread, the tick thread, the panel, the keyboard) goes through :meth:`Engine.feed`,
which serializes it, hands it to the pure :class:`~edge.engine.machine.Machine` and
carries out the actions it returns.

With an uplink (``--mqtt``) every data-plane event also goes to the outbox
(:mod:`edge.engine.dataplane`).  With ``--vehicle-sim`` the tick also drives a
simulated vehicle that plugs in and unplugs by itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from edge import keys
from edge.engine import machine as m
from edge.engine.clock import real_now
from edge.engine.dataplane import DataPlane
from edge.engine.executor import Executor
from edge.engine.hardware import Devices
from edge.engine.journal import Journal
from edge.engine.leds import LedBoard, View, pattern
from edge.engine.meter import Meter
from edge.engine.vehicle import Vehicle
from protocol import messages
from protocol.seal import SealError
from protocol.transport import Connection
from runtime import systemd
from runtime.routing import Routes

log = logging.getLogger(__name__)
TICK_S = 0.25
STALE_LINK_S = 3.0

FROM_MONITOR = Routes("message from the monitor")  # what the monitor link brings

__all__ = ["Engine", "real_now", "run_ticks"]


def run_ticks(engine: Engine, stop: threading.Event, after_tick: Callable[[], None],
              watchdog: systemd.Watchdog) -> None:
    """The engine's main loop: a tick every ``TICK_S`` until ``stop``.  The systemd
    watchdog is kicked here and only here, so a tick that hangs stops the kicks."""
    while not stop.wait(TICK_S):
        engine.tick()
        after_tick()
        watchdog.kick()


class Engine:
    def __init__(
        self, cp_id: str, journal: Journal, devices: Devices, meter: Meter,
        clock: Callable[[], m.Now] = real_now, *, uplink=None, vehicle: Vehicle | None = None,
    ) -> None:
        self.cp_id = cp_id
        self.machine = m.Machine(cp_id, meter, stopped=journal.stopped)
        self.journal = journal
        self.devices = devices
        self.board = LedBoard(devices.leds)
        self.leds: dict[str, str] = {}
        self._clock = clock
        self._lock = threading.RLock()
        self._link: Connection | None = None
        self._link_since = 0.0
        self._pushed: tuple | None = None  # what the monitor was last told, unasked
        self._request_hint: tuple[str, str | None] | None = None
        self._key_id: str | None = None  # the key of the last KeyIssued (kept in memory)
        self.data_plane = DataPlane(cp_id, uplink, lambda: self.machine.new_id())
        self._executor = Executor(self.machine, devices, journal, self.data_plane, self._send)
        self.vehicle = vehicle
        self.on_change: Callable[[], None] = lambda: None
        buttons = devices.buttons
        buttons["fault"].when_pressed = lambda: self.press("fault")
        buttons["plug"].when_pressed = lambda: self.press("plug")
        buttons["request"].when_pressed = lambda: self.press("request")

    def start(self) -> None:
        with self._lock:
            self.journal.recover(self.machine.new_id)
            if self.data_plane.enabled:  # a kill may have come between journal and outbox
                for record in self.journal.unreported():
                    self.data_plane.publish(record)
            self.devices.relay.off()
            self._show()
            self.data_plane.state(self._clock(), self.machine, "engine started")
        state = self.machine.state
        log.info("engine %s ready: %s, %s", self.cp_id, state, self.machine.health)

    # -- inputs --------------------------------------------------------------------
    def feed(self, step: Callable[..., list[m.Action]], *args) -> None:
        with self._lock:
            now = self._clock()
            actions = step(now, *args)
            self._executor.run(actions, now)
            self._show()
            self._push_report(now)
            notes = [a.text for a in actions if isinstance(a, m.Notice)]
            self.data_plane.state(now, self.machine, notes[-1] if notes else "")

    def _push_report(self, now) -> None:
        """Tell the monitor at once when health or state change (a pushed report, seq 0),
        so a pressed fault reaches Central without waiting for the next health check."""
        machine = self.machine
        current = machine.supply or machine.authorization
        key = (machine.health, machine.state, current and current.session_id)
        link = self._link
        if key != self._pushed and link is not None and link.is_open:
            self._pushed = key
            link.send(machine.health_report(now, 0))

    def press(self, button: str) -> None:
        """A button's handler (gpiozero thread, panel on real GPIO, keyboard)."""
        if self.data_plane.enabled:
            with self._lock:
                self.data_plane.button(self._clock(), button)
        if button == "fault":
            self.feed(self.machine.press_fault)
        elif button == "plug":
            self.feed(self.machine.press_plug)
        else:
            with self._lock:
                source, driver = self._request_hint or ("button", None)
                self._request_hint = None
            self.feed(self.machine.press_request, source, driver)

    def tick(self) -> None:
        self.feed(self.machine.tick)
        if self.vehicle is not None:
            with self._lock:
                machine = self.machine
                current = machine.supply or machine.authorization
                move = self.vehicle.step(self._clock().mono, machine.state, machine.plugged,
                                         current and current.session_id)
            if move:
                log.info("simulated vehicle %s", "plugs in" if move == "plug" else "unplugs")
                self.press("plug")

    def shutdown(self) -> None:
        with self._lock:
            self.feed(self.machine.shutdown)
            link, self._link = self._link, None
        if link:
            link.close("engine stopping")
        self.board.off()
        self.devices.relay.off()

    def hint_request(self, source: str, driver_id: str | None) -> None:
        """Who the next press of the request button is for (the virtual panel's ``--driver``)."""
        with self._lock:
            self._request_hint = (source, driver_id)

    def snapshot(self) -> dict:
        with self._lock:
            machine, now = self.machine, self._clock()
            supply, auth = machine.supply, machine.authorization
            return {
                "cp_id": self.cp_id, "state": machine.state, "health": machine.health,
                "leds": dict(self.leds), "relay": bool(self.devices.relay.value),
                "plugged": machine.plugged, "monitor": machine.monitor,
                "central": machine.central,
                "uplink": self.data_plane.enabled,
                "key_id": self._key_id, "key_revoked": machine.revoked,
                "mqtt": self.data_plane.connected,
                "outbox": self.data_plane.depth,
                "supply": supply and {
                    "session_id": supply.session_id, "driver_id": supply.driver_id,
                    "kw": str(supply.reading.kw), "kwh": str(supply.reading.kwh),
                    "eur": str(supply.reading.eur), "started_at": supply.started_at,
                    "price_eur_kwh": str(supply.price),
                },
                "authorization": auth and {
                    "session_id": auth.session_id, "driver_id": auth.driver_id,
                    "price_eur_kwh": str(auth.price),
                    "expires_in_s": max(0, round(auth.expires_at - now.mono)),
                },
            }

    # -- the monitor link ------------------------------------------------------------
    def attach(self, conn: Connection) -> bool:
        """Take ``conn`` as the monitor link unless a live one is already attached."""
        with self._lock:
            now = self._clock().mono
            current = self._link
            if current is not None and current.is_open:
                heard = self.machine.monitor or now - self._link_since < STALE_LINK_S
                if heard:
                    return False
                log.warning("monitor link from %s is silent: replaced", current.peer)
            self._link, self._link_since, self._pushed = conn, now, None
        if current is not None:
            current.close("replaced by a new monitor link")
        log.debug("monitor link from %s", conn.peer)
        return True

    def on_message(self, conn: Connection, message: messages.Message) -> None:
        with self._lock:
            if conn is not self._link:
                return
            if message.cp_id != self.cp_id:
                log.warning("monitor at %s speaks for %r, not %r: refused",
                            conn.peer, message.cp_id, self.cp_id)
                conn.send(messages.Refused(cp_id=self.cp_id, reason="wrong cp_id"))
                conn.close("wrong cp_id")
                return
            self.feed(self.machine.monitor_heard)
            self._dispatch(message)

    def on_close(self, conn: Connection, reason: str) -> None:
        with self._lock:
            if conn is not self._link:
                return
            self._link = None
            self._pushed = None
            self.feed(self.machine.monitor_lost, f"link closed ({reason})")

    def _dispatch(self, message: messages.Message) -> None:
        handler = FROM_MONITOR.handler(type(message))
        if handler is None:
            log.warning("ignored a %s message from the monitor", message.TYPE)
        else:
            handler(self, message)

    @FROM_MONITOR.on(messages.HealthCheck)
    def _health_check(self, check: messages.HealthCheck) -> None:
        self._send(self.machine.health_report(self._clock(), check.seq))

    @FROM_MONITOR.on(messages.MeterRequest)
    def _meter_request(self, request: messages.MeterRequest) -> None:
        """A monitor speaking OCPP samples the meter (MeterValues, the connector's status)."""
        machine, now = self.machine, self._clock()
        supply = machine.supply
        self._send(messages.MeterReading(
            cp_id=self.cp_id, id=machine.new_id(), ts=now.iso, plugged=machine.plugged,
            session_id=supply and supply.session_id,
            kw=supply and str(supply.reading.kw), kwh=supply and str(supply.reading.kwh)))

    @FROM_MONITOR.on(messages.Hello)
    def _hello(self, hello: messages.Hello) -> None:
        log.info("monitor says hello for %s", hello.cp_id)

    @FROM_MONITOR.on(messages.CentralStatus)
    def _central_status(self, status: messages.CentralStatus) -> None:
        self.feed(self.machine.central_status, status.up)

    @FROM_MONITOR.on(messages.Command)
    def _command(self, command: messages.Command) -> None:
        self.feed(self.machine.command, command)

    @FROM_MONITOR.on(messages.RecordAck)
    def _record_ack(self, ack: messages.RecordAck) -> None:
        if self.journal.acknowledge(ack.ref, ack.session_id):
            log.info("Central stored record %s of supply %s", ack.ref, ack.session_id)

    @FROM_MONITOR.on(messages.KeyIssued)
    def _key_issued(self, issued: messages.KeyIssued) -> None:
        """The monitor logged in: the key to seal the data plane with, kept in memory."""
        try:
            key = keys.key_of(issued)
        except SealError as error:
            log.warning("ignored a key from the monitor: %s", error)
            return
        log.info("key %s from the monitor", key.key_id)
        self._key_id = key.key_id
        self.data_plane.use_key(key)
        self.feed(self.machine.key_issued)

    @FROM_MONITOR.on(messages.KeyRevoked)
    def _key_revoked(self, revoked: messages.KeyRevoked) -> None:
        self._key_id = None
        self.data_plane.use_key(None)
        self.feed(self.machine.key_revoked, revoked.reason)

    @FROM_MONITOR.on(messages.SupplyDenied)
    def _supply_denied(self, denied: messages.SupplyDenied) -> None:
        self.feed(self.machine.supply_denied, denied.ref, denied.reason)

    # -- the monitor and the LEDs -------------------------------------------------------
    def _send(self, message: messages.Message) -> None:
        link = self._link
        if link is not None and link.is_open:
            link.send(message)

    def _show(self) -> None:
        machine = self.machine
        view = View(machine.state, machine.monitor, machine.central)
        wanted = pattern(view, self.board.has_blue)
        if wanted != self.leds:
            self.leds = wanted
            self.board.show(wanted)
            self.on_change()
