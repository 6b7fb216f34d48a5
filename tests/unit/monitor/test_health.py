"""The engine health tracker, driven with explicit times."""

import pytest

from edge.monitor.health import HealthChanged, HealthTracker, SendCheck
from protocol.states import Health

OK, KO, DOWN = Health.OK, Health.KO, Health.DOWN


def run(steps):
    """Feed steps to a fresh tracker; return what each step produced, in short form."""
    tracker = HealthTracker(interval=1.0, timeout=0.9)
    produced = []
    for step in steps:
        kind, now, *rest = step
        if kind == "connected":
            outputs = tracker.connected(now)
        elif kind == "report":
            outputs = tracker.report(now, *rest)
        elif kind == "tick":
            outputs = tracker.tick(now)
        else:
            outputs = tracker.lost(now, "link closed")
        produced.append([short(o) for o in outputs])
    return tracker, produced


def short(output):
    if isinstance(output, SendCheck):
        return ("check", output.seq)
    assert isinstance(output, HealthChanged)
    return output.engine


CASES = {
    "starts DOWN, first check at once, OK answer is a recovery": (
        [("connected", 0.0), ("report", 0.05, 1, "OK")],
        [[("check", 1)], ["OK"]],
        OK,
    ),
    "OK answers keep OK, one check a second": (
        [("connected", 0.0), ("report", 0.1, 1, "OK"), ("tick", 0.5), ("tick", 1.0),
         ("report", 1.1, 2, "OK"), ("tick", 2.0)],
        [[("check", 1)], ["OK"], [], [("check", 2)], [], [("check", 3)]],
        OK,
    ),
    "KO answer is a fault": (
        [("connected", 0.0), ("report", 0.1, 1, "OK"), ("tick", 1.0), ("report", 1.1, 2, "KO")],
        [[("check", 1)], ["OK"], [("check", 2)], ["KO"]],
        KO,
    ),
    "KO from the start is a fault": (
        [("connected", 0.0), ("report", 0.1, 1, "KO")],
        [[("check", 1)], ["KO"]],
        KO,
    ),
    "no answer within 0.9 s is a fault": (
        [("connected", 0.0), ("report", 0.1, 1, "OK"), ("tick", 1.0), ("tick", 1.89),
         ("tick", 1.9)],
        [[("check", 1)], ["OK"], [("check", 2)], [], ["KO"]],
        KO,
    ),
    "answer after the timeout is stale and ignored": (
        [("connected", 0.0), ("report", 0.1, 1, "OK"), ("tick", 1.0), ("tick", 1.9),
         ("report", 1.95, 2, "OK")],
        [[("check", 1)], ["OK"], [("check", 2)], ["KO"], []],
        KO,
    ),
    "OK answer after a timeout fault is a recovery": (
        [("connected", 0.0), ("tick", 0.9), ("tick", 1.0), ("report", 1.2, 2, "OK")],
        [[("check", 1)], ["KO"], [("check", 2)], ["OK"]],
        OK,
    ),
    "OK answer after a KO answer is a recovery": (
        [("connected", 0.0), ("report", 0.1, 1, "KO"), ("tick", 1.0), ("report", 1.1, 2, "OK")],
        [[("check", 1)], ["KO"], [("check", 2)], ["OK"]],
        OK,
    ),
    "repeated KO answers and timeouts are one change": (
        [("connected", 0.0), ("report", 0.1, 1, "OK"), ("tick", 1.0), ("report", 1.1, 2, "KO"),
         ("tick", 2.0), ("report", 2.1, 3, "KO"), ("tick", 3.0), ("tick", 3.9)],
        [[("check", 1)], ["OK"], [("check", 2)], ["KO"], [("check", 3)], [], [("check", 4)], []],
        KO,
    ),
    "link lost is DOWN and stops checks": (
        [("connected", 0.0), ("report", 0.1, 1, "OK"), ("lost", 0.5), ("tick", 1.0),
         ("tick", 5.0)],
        [[("check", 1)], ["OK"], ["DOWN"], [], []],
        DOWN,
    ),
    "link lost while KO is DOWN": (
        [("connected", 0.0), ("report", 0.1, 1, "KO"), ("lost", 0.5)],
        [[("check", 1)], ["KO"], ["DOWN"]],
        DOWN,
    ),
    "lost twice is one change": (
        [("connected", 0.0), ("report", 0.1, 1, "OK"), ("lost", 0.5), ("lost", 0.7)],
        [[("check", 1)], ["OK"], ["DOWN"], []],
        DOWN,
    ),
    "reconnected engine recovers on its first OK answer": (
        [("connected", 0.0), ("report", 0.1, 1, "OK"), ("lost", 0.5), ("connected", 2.0),
         ("report", 2.1, 2, "OK")],
        [[("check", 1)], ["OK"], ["DOWN"], [("check", 2)], ["OK"]],
        OK,
    ),
    "answers to checks never sent are ignored": (
        [("connected", 0.0), ("report", 0.1, 7, "KO"), ("report", 0.2, 1, "OK")],
        [[("check", 1)], [], ["OK"]],
        OK,
    ),
    "no checks before the link is open": (
        [("tick", 0.0), ("tick", 5.0), ("report", 5.1, 1, "OK")],
        [[], [], []],
        DOWN,
    ),
}


@pytest.mark.parametrize("steps, expected, final", CASES.values(), ids=CASES.keys())
def test_health(steps, expected, final):
    tracker, produced = run(steps)
    assert produced == expected
    assert tracker.health == final


def test_timeout_is_a_parameter():
    tracker = HealthTracker(interval=1.0, timeout=0.3)
    tracker.connected(0.0)
    assert tracker.tick(0.29) == []
    assert [short(o) for o in tracker.tick(0.3)] == ["KO"]
    assert "0.3 s" in tracker.reason


def test_report_carries_engine_state_until_lost():
    tracker = HealthTracker()
    tracker.connected(0.0)
    tracker.report(0.1, 1, "OK", state="supplying", session_id="s1", driver_id="D1")
    assert (tracker.state, tracker.session_id, tracker.driver_id) == ("supplying", "s1", "D1")
    tracker.lost(0.2, "link closed")
    assert (tracker.state, tracker.session_id, tracker.driver_id) == (None, None, None)
    assert tracker.reason == "link closed"


def test_deadline_is_next_check_or_answer_due():
    tracker = HealthTracker(interval=1.0, timeout=0.9)
    assert tracker.deadline() is None
    tracker.connected(10.0)
    assert tracker.deadline() == pytest.approx(10.9)
    tracker.report(10.1, 1, "OK")
    assert tracker.deadline() == pytest.approx(11.0)


def test_a_pushed_report_changes_health_at_once_without_a_check():
    from edge.monitor.health import PUSHED, HealthChanged, HealthTracker

    tracker = HealthTracker(interval=1.0, timeout=0.9)
    tracker.connected(0.0)
    tracker.report(0.01, 1, "OK", state="available")
    assert tracker.report(0.3, PUSHED, "KO", state="broken") == [
        HealthChanged("KO", "engine reports a fault")
    ]
    assert tracker.state == "broken"
    # the pending check schedule is untouched: the next check still goes out at 1.0
    assert tracker.deadline() == 1.0
