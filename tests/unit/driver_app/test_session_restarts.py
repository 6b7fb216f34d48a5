"""The driver-session model across restarts: what it remembers, and how Central's
status settles the supply it remembered."""

from __future__ import annotations

import pytest

from driver_app.effects import Ended, Notice, Remember, ShowTicket
from driver_app.session import DriverSession
from protocol import driver as d
from tests.unit.driver_app.conftest import (
    CP,
    ME,
    SID,
    kinds,
    model,
    started,
    supply_updates,
    supplying,
    ticket,
    ticket_dict,
)


def remembered(phase="supplying", session_id=SID) -> dict:
    s = model()
    s.charge(CP, 0)
    for update in supply_updates()[:{"requested": 0, "accepted": 1, "authorized": 2,
                                     "supplying": 4}[phase]]:
        s.receive(update, 1)
    assert s.following.phase == phase
    return s.memory()


def restart_status(memory: dict, current=None, recent=()) -> tuple[DriverSession, list]:
    s = model(memory)
    (send,) = s.start(10)
    return s, s.receive(d.DriverStatus(driver_id=ME, ref=send.message.id, current=current,
                                       recent=list(recent)), 11)


def test_memory_survives_a_round_trip():
    memory = remembered()
    assert model(memory).memory() == memory
    assert model(memory).following.session_id == SID


def test_restart_after_the_supply_ended_shows_its_ticket():
    recent = [ticket_dict("S0"), ticket_dict(reason="engine lost", interrupted=True)]
    s, effects = restart_status(remembered(), recent=recent)
    assert kinds(effects) == ["ShowStatus", "ShowTicket", "Ended", "Remember"]
    assert effects[1] == ShowTicket(recent[1], late=True)
    assert s.following is None


def test_restart_during_the_supply_follows_it_again():
    current = {"cp_id": CP, "session_id": SID, "status": "supplying", "kw": "7.4",
               "kwh": "3.1", "eur": "1.09", "started_at": None}
    s, effects = restart_status(remembered(), current=current)
    assert kinds(effects) == ["ShowStatus", "Remember"]
    assert s.following.session_id == SID and s.following.kwh == "3.1"
    assert kinds(s.receive(ticket(), 12)) == ["ShowTicket", "Ended", "Remember"]


def test_restart_after_an_authorization_that_expired():
    s, effects = restart_status(remembered("authorized"))
    assert Notice(f"your request at {CP} ended while the app was away, without a supply") \
        in effects
    assert Ended(CP, "cancelled", "ended while the app was away, without a supply") in effects
    assert s.following is None


def test_restart_before_central_answered_the_charge_request_finds_the_ticket():
    t = ticket_dict("S7", started_at="2030-01-01T10:00:01.000Z")
    s, effects = restart_status(remembered("requested"), recent=[t])
    assert ShowTicket(t, late=True) in effects
    assert s.following is None


def test_a_ticket_shown_before_the_restart_is_not_shown_again():
    s = supplying()
    s.receive(ticket(), 2)
    again = model(s.memory())
    assert again.receive(ticket(), 3) == []


def test_a_status_while_the_charge_request_is_on_its_way_keeps_following():
    s = started()
    s.charge(CP, 0)
    (status,) = s.status(1)
    effects = s.receive(d.DriverStatus(driver_id=ME, ref=status.message.id), 2)
    assert kinds(effects) == ["ShowStatus"]
    assert s.following.phase == "requested"


def test_a_supply_started_elsewhere_is_adopted():
    s = started()
    effects = s.receive(supply_updates()[2], 1)  # Plugged: a card at the CP
    assert s.following.session_id == SID and kinds(effects) == ["Notice", "Remember"]
    assert isinstance(effects[1], Remember)


def test_restart_while_authorized_follows_the_authorization():
    current = {"cp_id": CP, "session_id": SID, "status": "authorized", "started_at": None,
               "price_eur_kwh": "0.35", "kw": None, "kwh": None, "eur": None}
    s, effects = restart_status(remembered("authorized"), current=current)
    assert s.following.phase == "authorized" and s.following.kwh == "0"


@pytest.mark.parametrize("memory", [
    "junk",
    {"following": "junk", "ended": 5},
    {"following": {"cp_id": CP, "phase": "dreaming"}, "ended": ["S0"]},
    {"following": {"phase": "supplying"}},
    {"following": {"cp_id": 7, "phase": "supplying"}},
])
def test_a_damaged_memory_is_forgotten_not_a_crash(memory):
    s = model(memory)
    assert s.following is None
    assert kinds(s.charge(CP, 0)) == ["Send", "Remember"]
