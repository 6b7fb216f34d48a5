"""The charging state machine, driven directly: facts in, actions out."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count

import pytest

from edge.engine.machine import (
    Machine,
    Notice,
    Now,
    Progress,
    Record,
    Relay,
    ResendRecords,
    Send,
    StoppedChanged,
)
from edge.engine.meter import Meter
from protocol.messages import Command, CommandResult, SupplyEnded, SupplyRequest, SupplyStarted

BASE = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> Now:
    return Now(seconds, BASE + timedelta(seconds=seconds))


def command(action: str, t: float = 0, expires_in: float = 30, **fields) -> Command:
    expires = (BASE + timedelta(seconds=t + expires_in)).isoformat()
    if action == "authorize":
        fields = {"session_id": "S1", "driver_id": "D1", "price_eur_kwh": "0.30", **fields}
    return Command(cp_id="CP1", action=action, expires_at=expires, **fields)


def ready() -> Machine:
    ids = count(1)
    machine = Machine("CP1", Meter(Decimal("36")), new_id=lambda: f"m{next(ids)}")
    machine.monitor_heard(at(0))
    machine.central_status(at(0), True)
    return machine


def of(actions, kind):
    return [a for a in actions if isinstance(a, kind)]


def records(actions):
    return [a.message for a in of(actions, Record)]


def results(actions):
    return [a.message for a in of(actions, Send) if isinstance(a.message, CommandResult)]


def authorize(m, t=0.0):
    return m.command(at(t), command("authorize", t))


def tick(t):
    """A tick with the monitor still checking on us."""
    def step(m):
        m.monitor_heard(at(t - 0.5))
        return m.tick(at(t))
    return step


def supplying(m, t=0.0):
    authorize(m, t)
    return m.press_plug(at(t))


# (name, steps after ready(), expected state)
TRANSITIONS = [
    ("starts available", [], "available"),
    ("authorize", [authorize], "authorized"),
    ("plug while authorized", [supplying], "supplying"),
    ("plug without authorization", [lambda m: m.press_plug(at(0))], "available"),
    ("authorize while plugged starts at once",
     [lambda m: m.press_plug(at(0)), authorize], "supplying"),
    ("unplug ends the supply", [supplying, lambda m: m.press_plug(at(5))], "available"),
    ("fault", [lambda m: m.press_fault(at(0))], "broken"),
    ("fault twice is OK again", [lambda m: m.press_fault(at(0)), lambda m: m.press_fault(at(1))],
     "available"),
    ("fault during supply", [supplying, lambda m: m.press_fault(at(2))], "broken"),
    ("fault drops an authorization", [authorize, lambda m: m.press_fault(at(1)),
                                      lambda m: m.press_fault(at(2))], "available"),
    ("authorization expires", [authorize, tick(60)], "available"),
    ("authorization lives 59 s", [authorize, tick(59.9)], "authorized"),
    ("stop", [lambda m: m.command(at(0), command("stop"))], "stopped"),
    ("stop during supply", [supplying, lambda m: m.command(at(1), command("stop", 1))], "stopped"),
    ("resume", [lambda m: m.command(at(0), command("stop")),
                lambda m: m.command(at(1), command("resume", 1))], "available"),
    ("fault cleared while stopped stays stopped",
     [lambda m: m.command(at(0), command("stop")), lambda m: m.press_fault(at(1)),
      lambda m: m.press_fault(at(2))], "stopped"),
    ("end_supply", [supplying, lambda m: m.command(at(3), command("end_supply", 3))], "available"),
    ("end_supply cancels an authorization",
     [authorize, lambda m: m.command(at(3), command("end_supply", 3))], "available"),
    ("monitor lost ends the supply",
     [supplying, lambda m: m.monitor_lost(at(1), "link closed")], "available"),
    ("monitor silent 3 s", [supplying, lambda m: m.tick(at(3.5))], "available"),
    ("central down: supply continues", [supplying, lambda m: m.central_status(at(1), False),
                                        tick(10)], "supplying"),
    ("central down drops an authorization",
     [authorize, lambda m: m.central_status(at(1), False)], "available"),
    ("key revoked ends the supply",
     [supplying, lambda m: m.key_revoked(at(1), "restore keys")], "available"),
    ("key revoked drops an authorization",
     [authorize, lambda m: m.key_revoked(at(1), "")], "available"),
    ("no authorization while the key is revoked",
     [lambda m: m.key_revoked(at(0), ""), authorize], "available"),
    ("a new key lifts it", [lambda m: m.key_revoked(at(0), ""),
                            lambda m: m.key_issued(at(1)), authorize], "authorized"),
]


@pytest.mark.parametrize("steps, state", [t[1:] for t in TRANSITIONS],
                         ids=[t[0] for t in TRANSITIONS])
def test_transitions(steps, state):
    machine = ready()
    for step in steps:
        step(machine)
    assert machine.state == state


@pytest.mark.parametrize("event, reason", [
    (lambda m: m.press_plug(at(10)), "unplugged"),
    (lambda m: m.press_fault(at(10)), "fault"),
    (lambda m: m.command(at(10), command("stop", 10)), "stopped by Central"),
    (lambda m: m.command(at(10), command("end_supply", 10)), "stopped by driver"),
    (lambda m: m.command(at(10), command("end_supply", 10, reason="key revoked")),
     "key revoked"),
    (lambda m: m.key_revoked(at(10), "restore keys"), "key revoked"),
    (lambda m: m.monitor_lost(at(10), "connection lost"), "monitor lost"),
    (lambda m: m.shutdown(at(10)), "engine stopped"),
])
def test_every_end_switches_off_and_records_energy(event, reason):
    machine = ready()
    started = supplying(machine)
    assert of(started, Relay) == [Relay(True)]
    assert isinstance(records(started)[0], SupplyStarted)
    actions = event(machine)
    assert Relay(False) in actions
    [ended] = records(actions)
    assert isinstance(ended, SupplyEnded)
    # 36 kW for 10 s = 0.1 kWh at 0.30 EUR/kWh = 0.03 EUR
    assert (ended.reason, ended.kwh, ended.eur, ended.session_id, ended.driver_id) == (
        reason, "0.100", "0.03", "S1", "D1")
    assert machine.supply is None


def test_the_record_comes_before_the_relay_switches_on():
    actions = supplying(ready())
    kinds = [type(a) for a in actions if isinstance(a, Record | Relay)]
    assert kinds == [Record, Relay]


@pytest.mark.parametrize("setup, reason", [
    (lambda m: m.press_fault(at(0)), "broken"),
    (lambda m: m.command(at(0), command("stop")), "stopped"),
    (lambda m: supplying(m), "supplying"),
    (lambda m: m.command(at(0), command("authorize", session_id="S0")), "authorized"),
    (lambda m: m.monitor_lost(at(0), "gone"), "monitor lost"),
    (lambda m: m.central_status(at(0), False), "Central unreachable"),
])
def test_authorize_refused(setup, reason):
    machine = ready()
    setup(machine)
    before = machine.state
    [result] = results(machine.command(at(1), command("authorize", 1, session_id="S9")))
    assert (result.ok, result.reason) == (False, reason)
    assert machine.state == before


def test_every_command_gets_a_result_naming_it():
    machine = ready()
    for action in ("authorize", "end_supply", "stop", "resume"):
        sent = command(action)
        [result] = results(machine.command(at(0), sent))
        assert result.ref == sent.id


def test_expired_command_is_refused_and_ignored():
    machine = ready()
    late = command("authorize", 0, expires_in=-1)
    [result] = results(machine.command(at(0), late))
    assert (result.ref, result.ok, result.reason) == (late.id, False, "expired")
    assert machine.state == "available"


def test_a_repeated_command_is_answered_again_not_redone():
    machine = ready()
    stop = command("stop")
    first = machine.command(at(0), stop)
    machine.command(at(1), command("resume", 1))
    again = machine.command(at(2), stop)
    assert results(again) == results(first)
    assert machine.state == "available"


def test_stop_and_resume_are_persisted():
    machine = ready()
    assert StoppedChanged(True) in machine.command(at(0), command("stop"))
    assert StoppedChanged(False) in machine.command(at(1), command("resume", 1))


def test_no_new_authorization_until_the_monitor_is_back():
    machine = ready()
    machine.monitor_lost(at(0), "gone")
    machine.monitor_heard(at(1))
    machine.central_status(at(1), True)
    [result] = results(authorize(machine, 2))
    assert result.ok


def test_progress_every_second_with_meter_reading():
    machine = ready()
    supplying(machine)
    assert of(machine.tick(at(0.5)), Progress) == []
    [progress] = of(machine.tick(at(1.0)), Progress)
    assert (progress.kwh, progress.eur) == (Decimal("0.010"), Decimal("0.00"))


@pytest.mark.parametrize("ready_for, sent", [
    ((True, True), True), ((False, True), False), ((True, False), False),
])
def test_request_button(ready_for, sent):
    machine = ready()
    monitor, central = ready_for
    if not central:
        machine.central_status(at(0), False)
    if not monitor:
        machine.monitor_lost(at(0), "gone")
    actions = machine.press_request(at(1), "panel", "D7")
    requests = [a.message for a in of(actions, Send) if isinstance(a.message, SupplyRequest)]
    assert bool(requests) == sent
    if sent:
        assert (requests[0].source, requests[0].driver_id) == ("panel", "D7")
    else:
        assert any("refused" in n.text for n in of(actions, Notice))


def test_records_resent_when_the_path_to_central_comes_back():
    machine = ready()
    machine.monitor_lost(at(0), "gone")
    assert ResendRecords() in machine.monitor_heard(at(1))
    assert ResendRecords() in machine.central_status(at(1), True)


def test_health_report_names_the_supply():
    machine = ready()
    supplying(machine)
    report = machine.health_report(at(1), 7)
    assert (report.seq, report.status, report.state, report.session_id, report.driver_id) == (
        7, "OK", "supplying", "S1", "D1")
    machine.press_fault(at(2))
    assert machine.health_report(at(2), 8).status == "KO"


def test_a_supply_without_a_driver_id_is_ad_hoc_in_the_engines_words():
    machine = ready()
    actions = machine.command(at(0), command("authorize", driver_id=None))
    actions += machine.press_plug(at(1))
    texts = [n.text for n in of(actions, Notice)]
    assert "authorized ad hoc, session S1" in texts and "supply S1 started for ad hoc" in texts


def test_every_command_action_has_a_handler():
    """A new action in protocol.messages.ACTIONS fails here until the machine handles it."""
    from edge.engine.machine import COMMANDS
    from protocol.messages import ACTIONS

    assert set(COMMANDS) == set(ACTIONS)
    for action in ACTIONS:
        fields = {"session_id": "S9"} if action == "end_supply" else {}
        (result,) = results(ready().command(at(0), command(action, **fields)))
        assert result.reason != "expired"  # each one reached its handler and was answered


def test_while_the_key_is_revoked_no_supply_starts_and_central_hears_why():
    machine = ready()
    actions = machine.key_revoked(at(0), "restore keys")
    assert [n.level for n in of(actions, Notice)] == ["warning"]
    assert "restore keys" in of(actions, Notice)[0].text
    assert of(machine.press_request(at(1)), Send) == []
    [refused] = results(authorize(machine, 2))
    assert (refused.ok, refused.reason) == (False, "key revoked")
    assert machine.key_revoked(at(3), "") and machine.revoked  # again: still revoked
    assert of(machine.key_issued(at(4)), Notice) and not machine.revoked
    assert machine.key_issued(at(5)) == []  # a key while none was revoked: nothing to say
    [request] = [a.message for a in of(machine.press_request(at(6)), Send)]
    assert isinstance(request, SupplyRequest)
