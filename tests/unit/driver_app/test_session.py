"""The pure driver-session model: requests out, updates in, what to show and send."""

from __future__ import annotations

from decimal import Decimal

import pytest

from driver_app.effects import (
    Ended,
    Notice,
    Retrying,
    Send,
    ShowHistory,
    ShowList,
    ShowProgress,
    ShowStatus,
    ShowTicket,
)
from driver_app.outstanding import RETRY_S
from driver_app.session import QUIET_S, UPDATES
from protocol import driver as d
from tests.unit.driver_app.conftest import (
    CP,
    ME,
    SID,
    T0,
    kinds,
    model,
    started,
    supply_updates,
    supplying,
    ticket,
    ticket_dict,
)


def test_every_update_type_has_a_handler_and_nothing_else_does():
    assert set(UPDATES) == set(d.UPDATE_TYPES.values())
    assert all(UPDATES.handler(kind).__qualname__.startswith("DriverSession._on_")
               for kind in UPDATES)


def test_start_asks_for_the_status_and_is_ready_once_answered():
    s = model()
    (send,) = s.start(0)
    assert isinstance(send.message, d.StatusRequest) and send.message.driver_id == ME
    assert not s.ready
    effects = s.receive(d.DriverStatus(driver_id=ME, ref=send.message.id), 1)
    assert s.ready and kinds(effects) == ["ShowStatus"]


def test_happy_path_from_request_to_ticket():
    s = started()
    effects = s.charge(CP, 1)
    assert kinds(effects) == ["Send", "Remember"]
    assert isinstance(effects[0].message, d.ChargeRequest) and effects[0].message.cp_id == CP
    assert s.busy and s.following.phase == "requested"
    phases = []
    for update in supply_updates():
        s.receive(update, 2)
        phases.append(s.following.phase)
    assert phases == ["accepted", "authorized", "supplying", "supplying"]
    assert not s.outstanding
    effects = s.receive(ticket(), 3)
    assert kinds(effects) == ["ShowTicket", "Ended", "Remember"]
    assert effects[1] == Ended(CP, "ticket", "unplugged", Decimal("5.000"), Decimal("1.75"))
    assert s.following is None and not s.busy


def test_progress_is_shown_with_its_figures():
    s = started()
    s.charge(CP, 1)
    effects = [e for u in supply_updates() for e in s.receive(u, 2)]
    assert ShowProgress(SID, CP, "7.4", "1.2", "0.42") in effects


@pytest.mark.parametrize(("update", "outcome", "reason"), [
    (d.Denied(driver_id=ME, ref="r2", cp_id=CP, reason="CP busy"), "denied", "CP busy"),
])
def test_denied_ends_the_supply_asked_for(update, outcome, reason):
    s = started()
    s.charge(CP, 1)
    effects = s.receive(update, 2)
    assert Ended(CP, outcome, reason) in effects
    assert Notice(f"denied at {CP}: {reason}") in effects
    assert s.following is None and not s.outstanding


@pytest.mark.parametrize("reason", ["expired", "refused by the CP", "CP lost"])
def test_cancelled_authorization_ends_the_supply_asked_for(reason):
    s = supplying(at=1, updates=2)
    effects = s.receive(d.Cancelled(driver_id=ME, cp_id=CP, session_id=SID, reason=reason), 3)
    assert Ended(CP, "cancelled", reason) in effects
    assert s.following is None


def test_interrupted_ticket_keeps_the_flag_and_reason():
    s = supplying(at=1)
    effects = s.receive(ticket(reason="engine lost", interrupted=True), 3)
    (shown,) = [e for e in effects if isinstance(e, ShowTicket)]
    assert shown.ticket["interrupted"] is True and shown.ticket["reason"] == "engine lost"
    assert Ended(CP, "ticket", "engine lost", Decimal("5.000"), Decimal("1.75")) in effects


def test_duplicate_updates_are_ignored_by_id():
    s = supplying(at=1)
    t = ticket()
    assert s.receive(t, 3)
    assert s.receive(t, 3) == []


def test_late_updates_of_an_ended_session_are_ignored():
    s = supplying(at=1)
    s.receive(ticket(), 3)
    late = d.Progress(driver_id=ME, cp_id=CP, session_id=SID, kw="0", kwh="5", eur="1.75")
    assert s.receive(late, 4) == []
    assert s.receive(ticket(), 4) == []  # another copy of it, with a new id
    assert s.following is None


@pytest.mark.parametrize("update", [
    d.Accepted(driver_id="D2", ref="r2", cp_id=CP, session_id=SID),
    d.Denied(driver_id="D2", ref="r2", reason="CP busy"),
    d.Progress(driver_id="D2", cp_id=CP, session_id=SID, kw="1", kwh="1", eur="1"),
    d.Ticket(driver_id="D2", cp_id=CP, session_id="S9", started_at=T0, ended_at=T0,
             kwh="1", eur="1", price_eur_kwh="1", reason="unplugged"),
    d.CpList(driver_id="D2", ref="r2", cps=[]),
    d.DriverStatus(driver_id="D2", ref="r2", current={"cp_id": CP, "session_id": SID}),
])
def test_updates_for_other_drivers_are_ignored(update):
    s = started()
    s.charge(CP, 1)
    assert s.receive(update, 2) == []
    assert s.following.phase == "requested" and "r2" in s.outstanding


def test_answers_to_requests_never_sent_are_ignored():
    s = started()
    assert s.receive(d.CpList(driver_id=ME, ref="nope", cps=[]), 1) == []
    assert s.receive(d.Denied(driver_id=ME, ref="nope", reason="x"), 1) == []
    assert s.receive(d.DriverStatus(driver_id=ME, ref="nope"), 1) == []


def test_list_and_history_show_their_answers():
    s = started()
    s.list_cps(1)
    assert s.receive(d.CpList(driver_id=ME, ref="r2", cps=[{"id": CP}]), 2) == \
        [ShowList([{"id": CP}])]
    s.history(3)
    effects = s.receive(d.DriverStatus(driver_id=ME, ref="r3", recent=[ticket_dict()]), 4)
    assert effects == [ShowHistory([ticket_dict()])]


def test_an_unanswered_request_is_sent_again_with_the_same_id():
    s = started()
    (send, _) = s.charge(CP, 0)
    s.delivered(send.message.id, True, 0.1)
    assert s.tick(RETRY_S - 0.1) == []
    effects = s.tick(RETRY_S)
    assert effects == [Retrying("central"), Send(send.message, retry=True)]
    assert s.tick(RETRY_S + 1) == []


def test_a_quiet_supply_makes_the_model_ask_for_the_status():
    s = supplying()
    (send,) = s.tick(1 + QUIET_S)
    assert isinstance(send.message, d.StatusRequest)
    s.delivered(send.message.id, True, 1 + QUIET_S)
    current = {"cp_id": CP, "session_id": SID, "state": "supplying", "kwh": "2.0"}
    effects = s.receive(d.DriverStatus(driver_id=ME, ref=send.message.id, current=current),
                        2 + QUIET_S)
    assert not [e for e in effects if isinstance(e, ShowStatus)]  # not asked by the driver
    assert s.following.kwh == "2.0"


def test_one_supply_at_a_time():
    s = started()
    s.charge(CP, 0)
    assert s.charge("MAD-02", 1) == [Notice(f"a supply at {CP} is under way: stop it first (3)")]


def test_stop_names_the_cp_and_is_answered_by_the_ticket():
    s = started()
    assert kinds(s.stop(0)) == ["Notice"]  # nothing to stop
    s.charge(CP, 0)
    for update in supply_updates():
        s.receive(update, 1)
    (send,) = s.stop(2)
    assert isinstance(send.message, d.StopRequest) and send.message.cp_id == CP
    s.receive(ticket(reason="stopped by the driver"), 3)
    assert not s.outstanding


def test_stop_refused():
    s = supplying()
    (send,) = s.stop(2)
    effects = s.receive(d.Denied(driver_id=ME, ref=send.message.id, reason="no supply"), 3)
    assert effects == [Notice("stop request refused: no supply")]
    assert s.following is not None
