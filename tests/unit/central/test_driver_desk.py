"""The driver plane end to end through the real Fleet: requests in, updates out."""

from __future__ import annotations

import pytest

from cloud.central.driver_desk import DriverDesk
from cloud.central.fleet import Fleet
from cloud.central.store import Store
from protocol import driver as d
from protocol import messages as m
from protocol.data import Telemetry
from tests.unit.central.conftest import Clock, Site

T0, T1 = "2026-01-02T10:00:05.000Z", "2026-01-02T10:20:00.000Z"


class Desk:
    """A DriverDesk over a real Fleet, its CPs driven by a Site, its updates kept."""

    def __init__(self, tmp_path) -> None:
        self.store = Store(str(tmp_path / "central.db"))
        self.store.add_cp("CP1", "Calle Mayor 1", "0.35")
        self.store.add_cp("CP2", "Campus", "0.40")
        self.store.add_driver("D1")
        self.store.add_driver("D2")
        self.clock = Clock()
        self.fleet = Fleet(self.store, clock=self.clock)
        self.site = Site(self.fleet)
        self.updates: list[d.DriverMessage] = []
        self.desk = DriverDesk(self.fleet, self.updates.append)

    def ask(self, request: d.DriverMessage) -> d.DriverMessage:
        before = len(self.updates)
        self.desk.handle(request)
        assert len(self.updates) == before + 1, self.updates[before:]
        return self.updates[-1]

    def charge(self, cp_id: str = "CP1", driver_id: str = "D1") -> d.DriverMessage:
        return self.ask(d.ChargeRequest(driver_id=driver_id, cp_id=cp_id))

    def commands(self, cp_id: str = "CP1") -> list[m.Command]:
        return [x for x in self.site.sent.get(cp_id, []) if isinstance(x, m.Command)]

    def kinds(self) -> list[str]:
        return [u.TYPE for u in self.updates]

    def started(self, session_id: str, driver_id: str | None = "D1") -> m.SupplyStarted:
        return m.SupplyStarted(cp_id="CP1", session_id=session_id, started_at=T0,
                               price_eur_kwh="0.35", driver_id=driver_id)

    def ended(self, session_id: str, reason: str = "unplugged") -> m.SupplyEnded:
        return m.SupplyEnded(cp_id="CP1", session_id=session_id, started_at=T0, ended_at=T1,
                             kwh="3.2", eur="1.12", price_eur_kwh="0.35", reason=reason,
                             driver_id="D1")


@pytest.fixture
def desk(tmp_path):
    desk = Desk(tmp_path)
    yield desk
    desk.store.close()


def test_a_whole_supply_from_request_to_ticket(desk):
    desk.site.connect("CP1")
    accepted = desk.charge()
    assert isinstance(accepted, d.Accepted)
    [command] = desk.commands()
    assert (command.action, command.session_id, command.driver_id) == (
        "authorize", accepted.session_id, "D1")
    session = command.session_id
    desk.site.answer(m.CommandResult(cp_id="CP1", ref=command.id, ok=True))
    for _ in range(2):  # either plane's copy, or a replay: one Plugged
        desk.fleet.on_supply_started(desk.started(session))
    telemetry = Telemetry(cp_id="CP1", session_id=session, kw="7.2", kwh="0.5", eur="0.175",
                          price_eur_kwh="0.35", driver_id="D1")
    desk.fleet.on_telemetry(telemetry)
    view = desk.fleet.cp("CP1")
    assert (view["state"], view["kw"], view["kwh"], view["eur"]) == (
        "SUPPLYING", "7.2", "0.5", "0.175")
    status = desk.ask(d.StatusRequest(driver_id="D1"))
    assert (status.current["session_id"], status.current["kwh"]) == (session, "0.5")
    for _ in range(2):
        desk.fleet.on_supply_ended(desk.ended(session))
    assert desk.kinds() == ["accepted", "authorized", "plugged", "progress", "driver_status",
                            "ticket"]
    ticket = desk.updates[-1]
    assert (ticket.kwh, ticket.eur, ticket.interrupted) == ("3.2", "1.12", False)
    assert desk.fleet.cp("CP1")["kw"] is None
    assert not desk.fleet.on_telemetry(telemetry)  # late: ignored, nobody told
    status = desk.ask(d.StatusRequest(driver_id="D1"))
    assert status.current is None and [t["session_id"] for t in status.recent] == [session]
    assert desk.fleet.metrics()["supplies_ended_total"] == 1


@pytest.mark.parametrize(("setup", "cp_id", "driver_id", "reason"), [
    ("none", "CP1", "D9", "unknown driver"),
    ("none", "CP9", "D1", "unknown CP"),
    ("none", "CP1", "D1", "disconnected"),
    ("broken", "CP1", "D1", "broken"),
    ("stopped", "CP1", "D1", "stopped"),
    ("busy", "CP1", "D1", "CP busy"),
])
def test_charge_requests_are_denied_with_a_reason(desk, setup, cp_id, driver_id, reason):
    if setup != "none":
        desk.site.connect("CP1")
    if setup == "broken":
        desk.site.break_down("CP1")
    elif setup == "stopped":
        desk.fleet.stop("CP1")
    elif setup == "busy":
        desk.charge(driver_id="D2")
    denied = desk.charge(cp_id, driver_id)
    assert isinstance(denied, d.Denied) and (denied.reason, denied.cp_id) == (reason, cp_id)


@pytest.mark.parametrize(("how", "reason"), [
    ("expire", "not plugged in within 60 s"),
    ("refuse", "refused by the CP: engine busy"),
    ("disconnect", "CP disconnected"),
    ("break", "engine fault"),
    ("stop", "stopped"),
])
def test_an_authorization_that_never_becomes_a_supply_is_cancelled(desk, how, reason):
    desk.site.connect("CP1")
    session = desk.charge().session_id
    if how == "expire":
        desk.clock.now += 61
        desk.site.heartbeat("CP1")
        desk.fleet.sweep()
    elif how == "refuse":
        [command] = desk.commands()
        desk.site.answer(m.CommandResult(cp_id="CP1", ref=command.id, ok=False,
                                                     reason="engine busy"))
    elif how == "disconnect":
        desk.site.disconnect("CP1")
    elif how == "break":
        desk.site.break_down("CP1")
    else:
        desk.fleet.stop("CP1")
    cancelled = desk.updates[-1]
    assert isinstance(cancelled, d.Cancelled)
    assert (cancelled.session_id, cancelled.reason) == (session, reason)
    assert desk.kinds().count("cancelled") == 1


def test_stop_requests(desk):
    desk.site.connect("CP1")
    nothing = desk.ask(d.StopRequest(driver_id="D1"))
    assert (nothing.TYPE, nothing.reason) == ("denied", "no supply under way")
    session = desk.charge().session_id
    desk.fleet.on_supply_started(desk.started(session))
    elsewhere = desk.ask(d.StopRequest(driver_id="D1", cp_id="CP2"))
    assert elsewhere.reason == "no supply under way"
    desk.desk.handle(d.StopRequest(driver_id="D1"))
    stop = desk.commands()[-1]
    assert (stop.action, stop.session_id, stop.reason) == (
        "end_supply", session, "stopped by driver")
    desk.fleet.on_supply_ended(desk.ended(session, "stopped by driver"))
    assert desk.updates[-1].TYPE == "ticket" and desk.updates[-1].interrupted is False


def test_stopping_an_authorization_cancels_it(desk):
    desk.site.connect("CP1")
    session = desk.charge().session_id
    desk.desk.handle(d.StopRequest(driver_id="D1", cp_id="CP1"))
    assert desk.commands()[-1].action == "end_supply"
    assert (desk.updates[-1].TYPE, desk.updates[-1].reason) == ("cancelled", "stopped by driver")
    assert desk.store.session(session)["status"] == "expired"
    assert desk.fleet.cp("CP1")["state"] == "ACTIVATED"


def test_list_offers_activated_cps(desk):
    desk.site.connect("CP1")
    desk.site.connect("CP2")
    desk.charge("CP2")
    listing = desk.ask(d.ListRequest(driver_id="D2"))
    assert listing.cps == [{"id": "CP1", "location": "Calle Mayor 1", "price_eur_kwh": "0.35",
                            "state": "ACTIVATED"}]


def test_a_supply_asked_for_at_the_cp_notifies_its_driver(desk):
    desk.site.connect("CP1")
    desk.fleet.on_supply_request(m.SupplyRequest(cp_id="CP1", source="card", driver_id="D2"))
    command = desk.commands()[-1]
    desk.site.answer(m.CommandResult(cp_id="CP1", ref=command.id, ok=True))
    desk.fleet.on_supply_started(desk.started(command.session_id, driver_id="D2"))
    assert [(u.TYPE, u.driver_id) for u in desk.updates] == [
        ("authorized", "D2"), ("plugged", "D2")]


def test_a_supply_without_a_driver_tells_nobody(desk):
    desk.site.connect("CP1")
    desk.fleet.on_supply_request(m.SupplyRequest(cp_id="CP1", source="button"))
    command = desk.commands()[-1]
    desk.site.answer(m.CommandResult(cp_id="CP1", ref=command.id, ok=True))
    desk.fleet.on_supply_started(desk.started(command.session_id, driver_id=None))
    assert desk.updates == []


def test_every_driver_request_type_has_a_handler():
    from cloud.central.driver_desk import REQUESTS

    assert set(REQUESTS) == set(d.REQUEST_TYPES.values())
