"""The shell with a fake Kafka link: menu lines, file runs and the state dir."""

from __future__ import annotations

import io
import queue
import threading

import pytest

from driver_app.app import App
from driver_app.cli import main
from driver_app.plan import FileRun
from driver_app.session import DriverSession
from driver_app.state import StateDir
from driver_app.ui import Screen
from protocol import driver as d

ME = "D1"


class FakeLink:
    """Answers like a tiny Central: status empty, list one CP, every charge denied."""

    def __init__(self) -> None:
        self.sent: list[d.DriverMessage] = []
        self.inbox: list[d.DriverMessage] = []
        self.offsets: dict[int, int] = {0: 5}
        self.offsets_changed = True
        self._delivered: list[tuple[str, bool]] = []

    def send(self, message: d.DriverMessage) -> None:
        self.sent.append(message)
        self._delivered.append((message.id, True))
        if isinstance(message, d.StatusRequest):
            self.inbox.append(d.DriverStatus(driver_id=ME, ref=message.id))
        elif isinstance(message, d.ListRequest):
            self.inbox.append(d.CpList(driver_id=ME, ref=message.id, cps=[
                {"id": "MAD-01", "location": "Madrid", "price_eur_kwh": "0.35",
                 "state": "ACTIVATED"}]))
        elif isinstance(message, d.ChargeRequest):
            self.inbox.append(d.Denied(driver_id=ME, ref=message.id, cp_id=message.cp_id,
                                       reason="CP busy"))

    def poll(self, timeout: float) -> list[d.DriverMessage]:
        out, self.inbox = self.inbox, []
        return out

    def deliveries(self) -> list[tuple[str, bool]]:
        out, self._delivered = self._delivered, []
        return out

    def report_down(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 0.5
        return self.now


def app(tmp_path, run=None):
    out = io.StringIO()
    link = FakeLink()
    store = StateDir(tmp_path)
    store.open()
    return App(DriverSession(ME), link, Screen(out), store, run, clock=Clock()), link, out


def test_menu_lines_until_end_of_input(tmp_path):
    shell, link, out = app(tmp_path)
    commands: queue.Queue = queue.Queue()
    for line in ("1\n", "2\n", "MAD-01\n", "nonsense\n", "5\n", None):
        commands.put(line)
    assert shell.loop(threading.Event(), commands) == 0
    text = out.getvalue()
    assert "MAD-01       Madrid" in text
    assert "CP id?" in text and "denied at MAD-01: CP busy" in text
    assert "unknown choice 'nonsense'" in text and "no supplies yet" in text
    assert [type(m).__name__ for m in link.sent] == [
        "StatusRequest", "ListRequest", "ChargeRequest", "StatusRequest"]
    assert StateDir(tmp_path).load("offsets") == {"0": 5}


def test_file_run_prints_a_summary_and_forgets_the_run(tmp_path):
    shell, link, out = app(tmp_path, FileRun(["MAD-01", "MAD-02"], 1))
    assert shell.loop(threading.Event()) == 0
    assert [m.cp_id for m in link.sent if isinstance(m, d.ChargeRequest)] == ["MAD-01", "MAD-02"]
    assert "services  2 (0 completed, 2 not)" in out.getvalue()
    assert StateDir(tmp_path).load("session")["file"] is None


@pytest.mark.parametrize(("argv", "message"), [
    ([], "--driver-id is required"),
    (["--driver-id", "bad id"], "not a valid id"),
    (["--driver-id", "D1", "--kafka", "nohost"], "--kafka: expected HOST:PORT"),
    (["--driver-id", "D1", "--file", "/nonexistent/cps"], "cannot read /nonexistent/cps"),
    (["--driver-id", "D1", "--wait", "-1"], "--wait must be"),
])
def test_bad_flags_are_one_line_and_exit_2(argv, message, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
