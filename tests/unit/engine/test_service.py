"""The engine's runner: its monitor link, on mock GPIO with a hand-turned clock."""

from __future__ import annotations

import pytest

from edge.engine import hardware
from edge.engine.journal import Journal
from edge.engine.meter import Meter
from edge.engine.service import FROM_MONITOR, STALE_LINK_S, Engine
from protocol import messages as m
from tests.unit.engine.test_service_uplink import Clock

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
    m.PanelAction, m.PanelStatus,
}


def test_every_message_a_monitor_can_send_has_a_route():
    from edge.monitor.core import TO_ENGINE

    routed = set(FROM_MONITOR)
    assert routed.isdisjoint(NOT_FROM_MONITOR)
    assert routed | NOT_FROM_MONITOR == set(m.MESSAGE_TYPES.values())
    assert {m.Hello, m.HealthCheck, m.CentralStatus, *TO_ENGINE} == routed
