"""The engine's data-plane wiring, with a fake uplink, mock GPIO and a hand-turned clock."""

from datetime import UTC, datetime, timedelta

import pytest

from edge.engine import hardware
from edge.engine import machine as m
from edge.engine.journal import Journal
from edge.engine.meter import Meter
from edge.engine.service import Engine
from edge.engine.vehicle import Vehicle
from protocol import data, seal
from protocol import messages as msg


class FakeUplink:
    connected = True

    def __init__(self) -> None:
        self.sent: list[msg.Message] = []
        self.keys: list[seal.Key | None] = []  # what it was told to seal with

    def use_key(self, key: seal.Key | None) -> None:
        self.keys.append(key)

    def publish(self, message: msg.Message) -> None:
        self.sent.append(message)

    @property
    def depth(self) -> int:
        return len(self.sent)

    def of(self, cls) -> list:
        return [message for message in self.sent if isinstance(message, cls)]


class Clock:
    def __init__(self) -> None:
        self.mono = 100.0

    def __call__(self) -> m.Now:
        return m.Now(self.mono, datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=self.mono))


@pytest.fixture
def rig(tmp_path):
    devices = hardware.build(hardware.DEFAULT_PINS)
    journal = Journal(tmp_path / "journal.db")
    yield devices, journal
    journal.close()
    devices.close()


def ready(engine: Engine, clock: Clock) -> None:
    engine.start()
    engine.feed(engine.machine.monitor_heard)
    engine.feed(engine.machine.central_status, True)
    expires = (clock().wall + timedelta(seconds=30)).isoformat()
    engine.feed(engine.machine.command, msg.Command(
        cp_id="CP1", action="authorize", expires_at=expires, session_id="S1", driver_id="D1",
        price_eur_kwh="0.30"))


def run(engine: Engine, clock: Clock, seconds: float) -> None:
    for _ in range(int(seconds / 0.25)):
        clock.mono += 0.25
        engine.feed(engine.machine.monitor_heard)
        engine.tick()


def test_every_event_goes_to_the_uplink(rig):
    devices, journal = rig
    uplink, clock = FakeUplink(), Clock()
    engine = Engine("CP1", journal, devices, Meter(), clock, uplink=uplink)
    ready(engine, clock)
    engine.press("plug")
    run(engine, clock, 3.0)
    engine.press("plug")
    started, ended = uplink.of(msg.SupplyStarted), uplink.of(msg.SupplyEnded)
    assert [r.session_id for r in started + ended] == ["S1", "S1"]
    assert [r.id for r in journal.unreported()] == [r.id for r in started + ended]
    telemetry = uplink.of(data.Telemetry)
    assert len(telemetry) == 3
    assert [t.kwh for t in telemetry] == ["0.002", "0.004", "0.006"]
    assert {(t.kw, t.price_eur_kwh, t.driver_id) for t in telemetry} == {("7.4", "0.30", "D1")}
    states = [(s.state, s.session_id) for s in uplink.of(data.StateChanged)]
    assert states == [("available", None), ("authorized", "S1"), ("supplying", "S1"),
                      ("available", None)]
    assert uplink.of(data.StateChanged)[-1].reason.startswith("supply S1 ended (unplugged)")
    assert [b.button for b in uplink.of(data.ButtonPressed)] == ["plug", "plug"]
    assert (engine.snapshot()["mqtt"], engine.snapshot()["outbox"]) == (True, len(uplink.sent))


def test_the_simulated_vehicle_drives_the_plug(rig):
    devices, journal = rig
    uplink, clock = FakeUplink(), Clock()
    engine = Engine("CP1", journal, devices, Meter(), clock, uplink=uplink,
                    vehicle=Vehicle(2.0))
    ready(engine, clock)
    run(engine, clock, 0.75)
    assert engine.machine.state == "authorized"
    run(engine, clock, 0.5)
    assert engine.machine.state == "supplying"
    run(engine, clock, 2.0)
    assert engine.machine.state == "supplying"
    run(engine, clock, 0.25)
    assert (engine.machine.state, engine.machine.plugged) == ("available", False)
    assert uplink.of(msg.SupplyEnded)[0].reason == "unplugged"


def test_without_an_uplink_nothing_is_published(rig):
    devices, journal = rig
    clock = Clock()
    engine = Engine("CP1", journal, devices, Meter(), clock)
    ready(engine, clock)
    engine.press("plug")
    run(engine, clock, 1.0)
    snapshot = engine.snapshot()
    assert (snapshot["uplink"], snapshot["mqtt"], snapshot["outbox"]) == (False, False, 0)

