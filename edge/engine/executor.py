"""Carries out what the charging machine returns, in order: the relay, the journal, the
monitor link, the data plane and the log.  Runs under the engine's lock."""

from __future__ import annotations

import logging
from collections.abc import Callable

from edge.engine import machine as m
from edge.engine.dataplane import DataPlane
from edge.engine.hardware import Devices
from edge.engine.journal import Journal
from protocol import messages
from runtime.routing import Routes

log = logging.getLogger(__name__)

EXECUTE = Routes("machine action")  # one handler per kind of action the machine returns


class Executor:
    def __init__(
        self, machine: m.Machine, devices: Devices, journal: Journal, data_plane: DataPlane,
        to_monitor: Callable[[messages.Message], None],
    ) -> None:
        self.machine = machine
        self.devices = devices
        self.journal = journal
        self.data_plane = data_plane
        self._to_monitor = to_monitor  # dropped when no monitor is connected

    def run(self, actions: list[m.Action], now: m.Now) -> None:
        for action in actions:
            EXECUTE.handler(type(action))(self, action, now)

    @EXECUTE.on(m.Relay)
    def _relay(self, relay: m.Relay, now: m.Now) -> None:
        if relay.on:
            self.devices.relay.on()
        else:
            self.devices.relay.off()

    @EXECUTE.on(m.Record)
    def _record(self, record: m.Record, now: m.Now) -> None:
        if isinstance(record.message, messages.SupplyStarted):
            self.journal.open_supply(record.message)
        else:
            self.journal.close_supply(record.message)
        self.data_plane.publish(record.message)
        self._to_monitor(record.message)

    @EXECUTE.on(m.Progress)
    def _progress(self, progress: m.Progress, now: m.Now) -> None:
        self.journal.progress(progress.session_id, progress.kwh, progress.eur, progress.at)
        self.data_plane.telemetry(now, self.machine)

    @EXECUTE.on(m.ResendRecords)
    def _resend_records(self, resend: m.ResendRecords, now: m.Now) -> None:
        records = self.journal.unreported()
        if records:
            log.info("resending %d unacknowledged supply record(s)", len(records))
        for record in records:
            self._to_monitor(record)

    @EXECUTE.on(m.StoppedChanged)
    def _stopped_changed(self, change: m.StoppedChanged, now: m.Now) -> None:
        self.journal.stopped = change.stopped

    @EXECUTE.on(m.Send)
    def _send(self, send: m.Send, now: m.Now) -> None:
        self._to_monitor(send.message)

    @EXECUTE.on(m.Notice)
    def _notice(self, notice: m.Notice, now: m.Now) -> None:
        log.log(logging.WARNING if notice.level == "warning" else logging.INFO,
                "%s", notice.text)
