"""``ev-sim`` ends with every process it started, however it is ended.

Each run carries a mark in its environment, which every child inherits; after ``ev-sim``
is gone, no process with that mark may be left.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.support import BIN, free_port, wait_for

pytestmark = pytest.mark.integration

READY = "Ctrl+C stops everything."


def marked(mark: str) -> list[int]:
    """PIDs of the processes whose environment carries ``mark``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            status = (entry / "status").read_text()
        except OSError:
            continue
        if f"EV_TEST_RUN={mark}".encode() in environ.split(b"\0") and "\nState:\tZ" not in status:
            pids.append(int(entry.name))
    return pids


class Sim:
    def __init__(self, tmp_path: Path, *extra: str, ignore_sigint: bool = False) -> None:
        self.mark = uuid.uuid4().hex
        self.out = tmp_path / "ev-sim.out"
        args = [str(BIN / "ev-sim"), "--cps", "2", "--drivers", "1", "--workdir",
                str(tmp_path / "work"), "--http", f"127.0.0.1:{free_port()}",
                "--listen", f"127.0.0.1:{free_port()}", "--ocpp", f"127.0.0.1:{free_port()}",
                *extra]

        def as_if_in_the_background() -> None:  # what `ev-sim &` in a script gets
            if ignore_sigint:
                signal.signal(signal.SIGINT, signal.SIG_IGN)

        self.process = subprocess.Popen(
            args, stdout=open(self.out, "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
            stdin=subprocess.DEVNULL, start_new_session=True,
            env={**os.environ, "EV_TEST_RUN": self.mark}, preexec_fn=as_if_in_the_background)

    def output(self) -> str:
        return self.out.read_text(errors="replace")

    def wait_for_line(self, text: str, timeout: float = 90) -> None:
        def seen() -> bool:
            assert self.process.poll() is None, self.output()
            return text in self.output()

        wait_for(seen, timeout, 0.1)

    def left(self, timeout: float = 15) -> list[int]:
        """What is still running of this run ``timeout`` seconds after ev-sim ended."""
        deadline = time.monotonic() + timeout
        while marked(self.mark) and time.monotonic() < deadline:
            time.sleep(0.2)
        return marked(self.mark)

    def cleanup(self) -> None:
        for pid in marked(self.mark):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def sim(tmp_path):
    runs: list[Sim] = []

    def start(*extra: str, **kw) -> Sim:
        runs.append(Sim(tmp_path, *extra, **kw))
        return runs[-1]

    yield start
    for run in runs:
        run.cleanup()


def signal_group_then_kill(process: subprocess.Popen) -> None:
    """What a closed terminal, `timeout` or a service manager does to `make demo`."""
    os.killpg(process.pid, signal.SIGTERM)
    time.sleep(3)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


CASES = {
    "SIGINT": lambda p: p.send_signal(signal.SIGINT),
    "SIGTERM": lambda p: p.send_signal(signal.SIGTERM),
    "SIGHUP": lambda p: p.send_signal(signal.SIGHUP),
    "a second signal during the shutdown": lambda p: (
        p.send_signal(signal.SIGTERM), time.sleep(0.3), p.send_signal(signal.SIGINT)),
    "SIGKILL": lambda p: p.send_signal(signal.SIGKILL),
    "SIGTERM to its group, SIGKILL 3 s later": signal_group_then_kill,
}


@pytest.mark.parametrize("how", list(CASES))
def test_every_child_ends_with_ev_sim(sim, how):
    run = sim()
    run.wait_for_line(READY)
    # brokers, registry, Central, weather, bridge, 3 engines, 3 monitors (one OCPP), driver
    assert len(marked(run.mark)) >= 13
    CASES[how](run.process)
    run.process.wait(30)
    assert run.left() == [], f"left running after {how}:\n{run.output()}"
    assert "Traceback" not in run.output()
    if how not in ("SIGKILL", "a second signal during the shutdown"):
        assert "stopped. Logs and databases are in" in run.output()


def test_sigint_ends_it_even_when_started_in_the_background(sim):
    run = sim(ignore_sigint=True)
    run.wait_for_line(READY)
    run.process.send_signal(signal.SIGINT)
    assert run.process.wait(30) == 0
    assert run.left() == []
    assert "SIGINT: stopping the network" in run.output()


def test_a_signal_during_start_up_stops_what_was_started(sim):
    run = sim()
    run.wait_for_line("starting Central")
    run.process.send_signal(signal.SIGTERM)
    run.process.wait(30)
    assert run.left() == [], run.output()
    assert "Traceback" not in run.output()


def test_drivers_go_on_round_after_round_and_bills_look_real(sim):
    run = sim("--requests", "1", "--charge-seconds", "2")
    run.wait_for_line("driver DRV-01 finished round 1: starting another")
    run.wait_for_line("driver DRV-01 finished round 2: starting another")

    def tickets() -> list[tuple[str, str]]:  # a round's ticket line may follow its end line
        found = re.findall(r"ticket for DRV-01: ([0-9.]+) kWh, ([0-9.]+) EUR", run.output())
        return found if len(found) >= 2 else []

    tickets = wait_for(tickets, 10)
    # 22 kW for 2 s on a 60x clock: 0.733 kWh, at LIS-01's 0.29 or OCPP-01's 0.32 EUR/kWh
    # (the first round's request is OCPP-01: its ticket comes over OCPP)
    assert all(float(kwh) >= 0.7 and float(eur) >= 0.2 for kwh, eur in tickets), tickets
    assert "MAD-01" not in "".join(line for line in run.output().splitlines()
                                   if "AUTHORIZED" in line)  # the person's CP is left alone
