"""The framed protocol's command port: domain commands in, valid Commands out, and
their results told back in the domain's words."""

from __future__ import annotations

import pytest

from cloud.central.framed import CommandLedger, FramedPort
from protocol import messages as m

WALL = "2026-01-02T10:00:00.000Z"


@pytest.fixture
def port():
    sent: list[m.Message] = []
    framed = FramedPort("CP1", sent.append, CommandLedger(), lambda: WALL)
    framed.sent = sent
    return framed


@pytest.mark.parametrize(("call", "action", "fields"), [
    (lambda p: p.authorize("S1", "D1", "0.35"), "authorize",
     {"session_id": "S1", "driver_id": "D1", "price_eur_kwh": "0.35"}),
    (lambda p: p.stop("stopped by alice"), "stop", {"reason": "stopped by alice"}),
    (lambda p: p.resume("resumed by bob"), "resume", {"reason": "resumed by bob"}),
    (lambda p: p.end_supply("S1", "D1", "stopped by driver"), "end_supply",
     {"session_id": "S1", "driver_id": "D1", "reason": "stopped by driver"}),
])
def test_each_domain_command_is_one_valid_command_that_expires(port, call, action, fields):
    call(port)
    [command] = port.sent
    assert (command.cp_id, command.action, command.expires_at) == (
        "CP1", action, "2026-01-02T10:00:10.000Z")
    assert {name: getattr(command, name) for name in fields} == fields
    assert m.decode(m.encode(command)) == command


def test_a_result_is_told_back_with_what_the_command_was(port):
    port.authorize("S1", "D1", "0.35")
    [command] = port.sent
    result = m.CommandResult(cp_id="CP1", ref=command.id, ok=False, reason="busy")
    assert port.ledger.resolve(result) == ("CP1", "authorize", "S1", False, "busy")
    assert port.ledger.resolve(result) == ("CP1", "command", None, False, "busy")  # once


def test_the_ledger_forgets_the_oldest_commands():
    ledger = CommandLedger(size=2)
    sent: list[m.Message] = []
    port = FramedPort("CP1", sent.append, ledger, lambda: WALL)
    for n in range(3):
        port.stop(f"stop {n}")
    first, second, third = sent
    ok = {"cp_id": "CP1", "ok": True}
    assert ledger.resolve(m.CommandResult(ref=first.id, **ok))[1] == "command"
    assert ledger.resolve(m.CommandResult(ref=third.id, **ok))[1] == "stop"
