"""The monitor's terminal keys: a re-authenticates, r registers, d deregisters (twice)."""

import logging
import threading
from concurrent.futures import Future

from edge.monitor.central_link import Outcome
from edge.monitor.console import CONFIRM_S, MonitorKeys
from edge.monitor.registrar import Result
from edge.monitor.registration import RegistryError

LOGGED_IN = Outcome(True, "logged in (key k-2)")


class FakeMonitor:
    def __init__(self, outcome: Outcome = LOGGED_IN) -> None:
        self.logins = 0
        self.outcome = outcome

    def reauthenticate(self) -> Future:
        self.logins += 1
        answer: Future = Future()
        answer.set_result(self.outcome)
        return answer


class FakeRegistrar:
    def __init__(self, secret=None, error=None) -> None:
        self.calls: list[str] = []
        self.secret, self.error = secret, error

    def register(self) -> Result:
        self.calls.append("register")
        if self.error:
            raise RegistryError(self.error)
        return Result("registered CP01", self.secret)

    def deregister(self) -> Result:
        self.calls.append("deregister")
        return Result("deregistered CP01")


def keys(registrar=None, monitor=None):
    secrets: list[str] = []
    stop = threading.Event()
    made = MonitorKeys(monitor or FakeMonitor(), registrar, stop, secrets.append)
    return made, stop, secrets


def test_a_logs_in_again_and_says_how_it_went(caplog):
    monitor = FakeMonitor(Outcome(False, "Central refused us: wrong secret"))
    made, _, _ = keys(monitor=monitor)
    with caplog.at_level(logging.INFO):
        made.press("a", 0.0)
    assert monitor.logins == 1
    assert "re-authentication: Central refused us: wrong secret" in caplog.text
    assert caplog.records[-1].levelno == logging.WARNING


def test_d_deregisters_only_when_pressed_again_within_the_confirmation(caplog):
    registrar = FakeRegistrar()
    made, _, _ = keys(registrar)
    made.press("d", 10.0)
    assert registrar.calls == [] and "press d again" in caplog.text
    made.press("d", 10.0 + CONFIRM_S + 0.1)  # too late: asks again
    assert registrar.calls == []
    made.press("d", 10.0 + CONFIRM_S + 1.0)
    assert registrar.calls == ["deregister"]
    made.press("d", 10.0 + CONFIRM_S + 1.5)  # a new confirmation is needed
    assert registrar.calls == ["deregister"]


def test_r_registers_and_logs_in_with_the_new_secret():
    monitor = FakeMonitor()
    made, _, secrets = keys(FakeRegistrar(secret="s3cret"), monitor)
    made.press("r", 0.0)
    assert secrets == ["s3cret"] and monitor.logins == 1


def test_r_of_a_registered_cp_keeps_the_secret_and_the_link():
    monitor = FakeMonitor()
    made, _, secrets = keys(FakeRegistrar(secret=None), monitor)
    made.press("r", 0.0)
    assert secrets == [] and monitor.logins == 0


def test_registry_errors_and_missing_flags_are_a_warning_not_a_crash(caplog):
    made, _, _ = keys(FakeRegistrar(error="registry refused (403 Forbidden): wrong token"))
    made.press("r", 0.0)
    assert "registry refused (403 Forbidden): wrong token" in caplog.text
    bare, _, _ = keys(None)
    bare.press("r", 0.0)
    assert "the registry keys need --registry" in caplog.text
    caplog.clear()
    bare.press("d", 0.0)  # said at once: no confirmation asked for what cannot be done
    assert "the registry keys need --registry" in caplog.text
    assert "press d again" not in caplog.text


def test_q_quits_and_other_keys_do_nothing():
    monitor = FakeMonitor()
    made, stop, _ = keys(monitor=monitor)
    made.press("x", 0.0)
    assert not stop.is_set() and monitor.logins == 0
    made.press("q", 0.0)
    assert stop.is_set()
