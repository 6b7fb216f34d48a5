"""The monitor's control port: loopback only, one reply per request, never a key."""

from concurrent.futures import Future

import pytest

from edge.monitor import control
from edge.monitor.central_link import Outcome
from edge.monitor.control import ControlServer, ControlUnreachable, ControlVerb, ask
from tests.support import free_port

STATUS = {"cp_id": "CP01", "key_id": "k-0123456789ab", "key_revoked": False}


@pytest.mark.parametrize("address", ["127.0.0.1:7100", "127.8.9.10:1", "localhost:7100",
                                     "[::1]:7100"])
def test_loopback_addresses_are_taken(address):
    control.check_loopback(address)


@pytest.mark.parametrize("address", ["0.0.0.0:7100", "10.1.2.3:7100", "example.org:7100",
                                     "[::]:7100"])
def test_anything_else_is_refused(address):
    with pytest.raises(ValueError, match="is not a loopback address"):
        control.check_loopback(address)
    with pytest.raises(ValueError):
        ControlServer(address, "CP01", Future, dict)


def served(reauthenticate):
    address = f"127.0.0.1:{free_port()}"
    asked = []

    def counted() -> Future:
        asked.append(1)
        return reauthenticate()

    return ControlServer(address, "CP01", counted, lambda: dict(STATUS)).start(), asked


def test_reauth_waits_for_the_login_and_says_how_it_went():
    def login() -> Future:
        answer: Future = Future()
        answer.set_result(Outcome(True, "logged in to Central at x (key k-1)"))
        return answer

    server, asked = served(login)
    try:
        reply = ask(server.address, ControlVerb.REAUTH)
        assert (reply.ok, reply.text, reply.status) == (True, "logged in to Central at x "
                                                        "(key k-1)", STATUS)
        status = ask(server.address, ControlVerb.STATUS)  # only says how things stand
        assert status.ok and status.status == STATUS and len(asked) == 1
    finally:
        server.close()


def test_a_login_without_an_outcome_in_time_is_a_failure(monkeypatch):
    monkeypatch.setattr(control, "REAUTH_TIMEOUT_S", 0.3)
    server, _ = served(Future)  # never resolved
    try:
        reply = ask(server.address, ControlVerb.REAUTH, timeout=5)
        assert not reply.ok and reply.text == "no outcome within 0.3 s"
    finally:
        server.close()


def test_no_monitor_there_is_control_unreachable():
    with pytest.raises(ControlUnreachable):
        ask(f"127.0.0.1:{free_port()}", ControlVerb.STATUS, timeout=1)
