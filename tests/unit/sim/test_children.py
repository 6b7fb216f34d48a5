"""Stopping children: SIGTERM to all at once, SIGKILL after the grace, and a line for
whoever watches a stop that takes long."""

import subprocess
import sys
import time

from sim.children import stop_all

OBEYS = "import time; time.sleep(60)"
IGNORES = ("import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
           "print('ready', flush=True); time.sleep(60)")
SLOW = ("import signal, sys, time\n"
        "def stop(*_): time.sleep(1); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, stop); print('ready', flush=True); time.sleep(60)")


def child(code: str) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    if "ready" in code:
        assert process.stdout.readline() == b"ready\n"  # its handler is in place
    return process


def test_children_that_obey_stop_at_once_and_nothing_is_said():
    processes = {"a": child(OBEYS), "b": child(OBEYS)}
    said: list[str] = []
    started = time.monotonic()
    stop_all(processes, said.append)
    assert time.monotonic() - started < 1
    assert said == [] and all(p.returncode is not None for p in processes.values())


def test_a_slow_stop_is_named_and_one_that_ignores_sigterm_is_killed_after_the_grace():
    processes = {"slow": child(SLOW), "stubborn": child(IGNORES), "quick": child(OBEYS)}
    said: list[str] = []
    started = time.monotonic()
    stop_all(processes, said.append, grace=2, patience=0.2)
    assert 2 <= time.monotonic() - started < 4
    assert said == ["waiting for slow, stubborn to stop ...",
                    "stubborn did not stop within 2 s: killed"]
    assert processes["slow"].returncode == 0 and processes["stubborn"].returncode == -9


def test_a_grace_shorter_than_the_patience_kills_without_a_word():
    processes = {"stubborn": child(IGNORES)}
    said: list[str] = []
    stop_all(processes, said.append, grace=0.3, patience=1)
    assert said == [] and processes["stubborn"].returncode == -9
