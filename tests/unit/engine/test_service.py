"""The engine's runner: its monitor link, on mock GPIO with a hand-turned clock."""

from __future__ import annotations

import logging

import pytest

from edge import keys
from edge.engine import hardware
from edge.engine.journal import Journal
from edge.engine.meter import Meter
from edge.engine.service import FROM_MONITOR, STALE_LINK_S, Engine
from protocol import messages as m
from protocol import seal
from tests.unit.engine.test_service_uplink import Clock, FakeUplink, ready, run

CP = "CP1"


class FakeLink:
    """What the engine uses of a Connection."""

    def __init__(self, peer: str) -> None:
        self.peer, self.is_open = peer, True
        self.sent: list[m.Message] = []
        self.closed: str | None = None

    def send(self, message: m.Message) -> bool:
        self.sent.append(message)
        return True

    def close(self, reason: str = "") -> None:
        self.is_open, self.closed = False, reason


@pytest.fixture
def engine(tmp_path):
    devices = hardware.build(hardware.DEFAULT_PINS, "mock")
    journal = Journal(tmp_path / "journal.db")
    clock = Clock()
    engine = Engine(CP, journal, devices, Meter(), clock)
    engine.clock = clock
    engine.start()
    yield engine
    journal.close()
    devices.close()


def test_a_silent_link_is_replaced_after_a_while_on_the_engines_own_clock(engine):
    first, second, third = FakeLink("a"), FakeLink("b"), FakeLink("c")
    assert engine.attach(first)
    assert not engine.attach(second)  # the first is new: it may still say hello
    engine.clock.mono += STALE_LINK_S + 0.5  # no real time passes
    assert engine.attach(third)
    assert first.closed == "replaced by a new monitor link"
    engine.on_message(third, m.Hello(cp_id=CP))
    engine.clock.mono += STALE_LINK_S + 0.5
    assert not engine.attach(FakeLink("d"))  # heard from: kept however long ago it opened


def test_messages_from_the_monitor_reach_their_handlers(engine):
    link = FakeLink("monitor")
    engine.attach(link)
    engine.on_message(link, m.CentralStatus(cp_id=CP, up=True))
    engine.on_message(link, m.HealthCheck(cp_id=CP, seq=7))
    report = [x for x in link.sent if isinstance(x, m.HealthReport) and x.seq == 7]
    assert [(r.status, r.state) for r in report] == [("OK", "available")]
    assert (engine.machine.monitor, engine.machine.central) == (True, True)
    engine.on_message(link, m.Welcome(cp_id=CP, enabled=True, price_eur_kwh="0.30"))  # ignored
    assert engine.snapshot()["state"] == "available"


# What a monitor never sends its engine.  A new message type fails the test below until it
# is put here or the engine gets a route for it.
NOT_FROM_MONITOR = {
    m.Challenge, m.Authenticate, m.Welcome, m.Refused, m.HealthReport, m.Heartbeat,
    m.EngineStatus, m.CommandResult, m.SupplyRequest, m.SupplyStarted, m.SupplyEnded,
    m.PanelAction, m.PanelStatus, m.MeterReading,
}


def test_every_message_a_monitor_can_send_has_a_route():
    from edge.monitor.core import TO_ENGINE

    routed = set(FROM_MONITOR)
    assert routed.isdisjoint(NOT_FROM_MONITOR)
    assert routed | NOT_FROM_MONITOR == set(m.MESSAGE_TYPES.values())
    assert {m.Hello, m.HealthCheck, m.CentralStatus, m.KeyIssued, m.KeyRevoked,
            m.MeterRequest, *TO_ENGINE} == routed


KEY = seal.Key("k-0123456789ab", bytes(range(32)))


def test_the_key_from_the_monitor_goes_to_the_uplink_and_a_revocation_ends_the_supply(
        rig, caplog):
    caplog.set_level(logging.INFO)
    devices, journal = rig
    uplink, clock = FakeUplink(), Clock()
    engine = Engine(CP, journal, devices, Meter(), clock, uplink=uplink)
    ready(engine, clock)
    link = FakeLink("monitor")
    engine.attach(link)
    engine.on_message(link, keys.issued(CP, KEY))
    assert uplink.keys == [KEY]
    assert (engine.snapshot()["key_id"], engine.snapshot()["key_revoked"]) == (KEY.key_id, False)
    engine.press("plug")
    run(engine, clock, 1.0)
    engine.on_message(link, m.KeyRevoked(cp_id=CP, reason="restore keys"))
    assert uplink.keys == [KEY, None]
    [ended] = uplink.of(m.SupplyEnded)  # in the outbox, plain, until a new key
    assert (ended.session_id, ended.reason) == ("S1", "key revoked")
    assert [r.id for r in journal.unreported()][-1] == ended.id  # and journaled: never lost
    assert [x for x in link.sent if isinstance(x, m.SupplyEnded)] == [ended]
    snapshot = engine.snapshot()
    assert (snapshot["state"], snapshot["key_id"], snapshot["key_revoked"]) == (
        "available", None, True)
    engine.press("request")
    assert not [x for x in link.sent if isinstance(x, m.SupplyRequest)]
    engine.on_message(link, keys.issued(CP, seal.Key("k-2", bytes(32))))
    assert engine.snapshot()["key_revoked"] is False
    engine.press("request")
    assert [x for x in link.sent if isinstance(x, m.SupplyRequest)]
    text = caplog.text
    assert "k-0123456789ab" in text and keys.issued(CP, KEY).key not in text


def test_a_malformed_key_is_ignored_and_never_logged(rig, caplog):
    caplog.set_level(logging.INFO)
    devices, journal = rig
    uplink, clock = FakeUplink(), Clock()
    engine = Engine(CP, journal, devices, Meter(), clock, uplink=uplink)
    engine.start()
    link = FakeLink("monitor")
    engine.attach(link)
    short = "A" * 40
    engine.on_message(link, m.KeyIssued(cp_id=CP, key_id="k-bad", key=short))
    assert uplink.keys == [] and engine.snapshot()["key_id"] is None
    assert "ignored a key from the monitor" in caplog.text and short not in caplog.text


@pytest.fixture
def rig(tmp_path):
    devices = hardware.build(hardware.DEFAULT_PINS, "mock")
    journal = Journal(tmp_path / "journal.db")
    yield devices, journal
    journal.close()
    devices.close()


def test_a_meter_request_is_answered_with_the_connector_and_the_supply_under_way(engine):
    link = FakeLink("monitor")
    engine.attach(link)
    engine.on_message(link, m.CentralStatus(cp_id=CP, up=True))
    engine.on_message(link, m.MeterRequest(cp_id=CP))
    idle = [x for x in link.sent if isinstance(x, m.MeterReading)]
    assert [(r.plugged, r.session_id, r.kwh) for r in idle] == [(False, None, None)]
    engine.on_message(link, m.Command(cp_id=CP, action="authorize", session_id="S1",
                                      price_eur_kwh="0.30", expires_at="2099-01-01T00:00:00Z"))
    engine.press("plug")
    engine.clock.mono += 2  # 7.4 kW for 2 s
    engine.tick()
    link.sent.clear()
    engine.on_message(link, m.MeterRequest(cp_id=CP))
    [reading] = [x for x in link.sent if isinstance(x, m.MeterReading)]
    assert (reading.plugged, reading.session_id, reading.kw, reading.kwh) == (
        True, "S1", "7.4", "0.004")
