"""The Engine's runner: owns the lock, the clock, the devices and the journal.

Every input (a button callback on a gpiozero thread, a message on a link's reader
thread, the tick thread, the panel, the keyboard) goes through :meth:`Engine.feed`,
which serializes it, hands it to the pure :class:`~edge.engine.machine.Machine` and
carries out the actions it returns.

With an uplink (``--mqtt``) every data-plane event also goes to the outbox: a
``StateChanged`` on each state or health change, a ``ButtonPressed`` per press, the
supply records (the very messages journaled and sent to the monitor) and a
``Telemetry`` every second of a supply.  With ``--vehicle-sim`` the tick also drives a
simulated vehicle that plugs in and unplugs by itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from edge.engine import machine as m
from edge.engine.hardware import Devices
from edge.engine.journal import Journal
from edge.engine.leds import LedBoard, View, pattern
from edge.engine.meter import Meter
from edge.engine.vehicle import Vehicle
from protocol import messages
from protocol.data import ButtonPressed, StateChanged, Telemetry
from protocol.transport import Connection
from runtime import systemd

log = logging.getLogger(__name__)
TICK_S = 0.25
STALE_LINK_S = 3.0


def real_now() -> m.Now:
    return m.Now(time.monotonic(), datetime.now(UTC))


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
        self.uplink = uplink  # .publish(message), .connected, .depth; None without --mqtt
        self.vehicle = vehicle
        self._published: tuple | None = None  # the state last published on the data plane
        self.on_change: Callable[[], None] = lambda: None
        buttons = devices.buttons
        buttons["fault"].when_pressed = lambda: self.press("fault")
        buttons["plug"].when_pressed = lambda: self.press("plug")
        buttons["request"].when_pressed = lambda: self.press("request")

    def start(self) -> None:
        with self._lock:
            self.journal.recover(self.machine.new_id)
            if self.uplink is not None:  # a kill may have come between journal and outbox
                for record in self.journal.unreported():
                    self._publish(record)
            self.devices.relay.off()
            self._show()
            self._publish_state(self._clock(), "engine started")
        state = self.machine.state
        log.info("engine %s ready: %s, %s", self.cp_id, state, self.machine.health)

    # -- inputs --------------------------------------------------------------------
    def feed(self, step: Callable[..., list[m.Action]], *args) -> None:
        with self._lock:
            now = self._clock()
            actions = step(now, *args)
            self._execute(actions, now)
            self._show()
            self._push_report(now)
            notes = [a.text for a in actions if isinstance(a, m.Notice)]
            self._publish_state(now, notes[-1] if notes else "")

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
        if self.uplink is not None:
            with self._lock:
                self._publish(ButtonPressed(cp_id=self.cp_id, id=self.machine.new_id(),
                                            ts=self._clock().iso, button=button))
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

    # -- the panel -----------------------------------------------------------------
    def panel_action(self, action: messages.PanelAction) -> dict:
        if action.action != "status" and action.button:
            button = self.devices.buttons[action.button]
            if action.button == "request":
                with self._lock:
                    self._request_hint = ("panel", action.driver_id)
            log.info("panel: %s %s", action.action, action.button)
            if not self.devices.mock:
                if action.action == "press":
                    self.press(action.button)
            elif action.action == "press":
                if button.is_pressed:
                    button.pin.drive_high()
                button.pin.drive_low()
            else:
                button.pin.drive_high()
        return self.snapshot()

    def snapshot(self) -> dict:
        with self._lock:
            machine, now = self.machine, self._clock()
            supply, auth = machine.supply, machine.authorization
            return {
                "cp_id": self.cp_id, "state": machine.state, "health": machine.health,
                "leds": dict(self.leds), "relay": bool(self.devices.relay.value),
                "plugged": machine.plugged, "monitor": machine.monitor,
                "central": machine.central,
                "uplink": self.uplink is not None,
                "mqtt": bool(self.uplink and self.uplink.connected),
                "outbox": self.uplink.depth if self.uplink else 0,
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
            now = time.monotonic()
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
        machine = self.machine
        if isinstance(message, messages.HealthCheck):
            self._send(machine.health_report(self._clock(), message.seq))
        elif isinstance(message, messages.Hello):
            log.info("monitor says hello for %s", message.cp_id)
        elif isinstance(message, messages.CentralStatus):
            self.feed(machine.central_status, message.up)
        elif isinstance(message, messages.Command):
            self.feed(machine.command, message)
        elif isinstance(message, messages.RecordAck):
            if self.journal.acknowledge(message.ref, message.session_id):
                log.info("Central stored record %s of supply %s", message.ref, message.session_id)
        elif isinstance(message, messages.SupplyDenied):
            self.feed(machine.supply_denied, message.ref, message.reason)
        else:
            log.warning("ignored a %s message from the monitor", message.TYPE)

    # -- actions ---------------------------------------------------------------------
    def _execute(self, actions: list[m.Action], now: m.Now) -> None:
        for action in actions:
            if isinstance(action, m.Relay):
                if action.on:
                    self.devices.relay.on()
                else:
                    self.devices.relay.off()
            elif isinstance(action, m.Record):
                if isinstance(action.message, messages.SupplyStarted):
                    self.journal.open_supply(action.message)
                else:
                    self.journal.close_supply(action.message)
                self._publish(action.message)
                self._send(action.message)
            elif isinstance(action, m.Progress):
                self.journal.progress(action.session_id, action.kwh, action.eur, action.at)
                self._publish_telemetry(now)
            elif isinstance(action, m.ResendRecords):
                records = self.journal.unreported()
                if records:
                    log.info("resending %d unacknowledged supply record(s)", len(records))
                for record in records:
                    self._send(record)
            elif isinstance(action, m.StoppedChanged):
                self.journal.stopped = action.stopped
            elif isinstance(action, m.Send):
                self._send(action.message)
            elif isinstance(action, m.Notice):
                log.log(logging.WARNING if action.level == "warning" else logging.INFO,
                        "%s", action.text)

    # -- the data plane --------------------------------------------------------------
    def _publish(self, message: messages.Message) -> None:
        if self.uplink is not None:
            self.uplink.publish(message)

    def _publish_state(self, now: m.Now, reason: str) -> None:
        machine = self.machine
        current = machine.supply or machine.authorization
        key = (machine.state, machine.health, current and current.session_id)
        if self.uplink is None or key == self._published:
            return
        self._published = key
        self._publish(StateChanged(
            cp_id=self.cp_id, id=machine.new_id(), ts=now.iso, state=machine.state,
            health=machine.health, session_id=current and current.session_id,
            driver_id=current and current.driver_id, reason=reason))

    def _publish_telemetry(self, now: m.Now) -> None:
        supply = self.machine.supply
        if self.uplink is None or supply is None:
            return
        reading = supply.reading
        self._publish(Telemetry(
            cp_id=self.cp_id, id=self.machine.new_id(), ts=now.iso,
            session_id=supply.session_id, kw=str(reading.kw), kwh=str(reading.kwh),
            eur=str(reading.eur), price_eur_kwh=str(supply.price), driver_id=supply.driver_id))

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
