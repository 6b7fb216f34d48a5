"""File mode: reading the CP list and pacing the supplies."""

from decimal import Decimal

import pytest

from driver_app.effects import Ended
from driver_app.plan import DONE, FileRun, read_cp_ids


def test_read_cp_ids_skips_blanks_and_comments():
    assert read_cp_ids("# mine\n\nMAD-01\n  BCN-2  # the usual\n#MAD-03\n") == ["MAD-01", "BCN-2"]


@pytest.mark.parametrize(("text", "error"), [
    ("", "no CP ids"),
    ("# nothing\n\n", "no CP ids"),
    ("MAD-01\nbad id\n", "line 2"),
])
def test_read_cp_ids_rejects(text, error):
    with pytest.raises(ValueError, match=error):
        read_cp_ids(text)


def test_one_supply_at_a_time_with_a_pause_after_each():
    run = FileRun(["A", "B"], 4)
    assert run.next_cp(0, busy=False) == "A"
    assert run.next_cp(1, busy=True) is None
    run.ended(Ended("A", "denied", "CP busy"), 10)
    assert run.next_cp(13.9, busy=False) is None
    assert run.next_cp(14, busy=False) == "B"
    run.ended(Ended("B", "ticket", "unplugged", Decimal("2.5"), Decimal("0.88")), 20)
    assert run.next_cp(20, busy=False) == DONE  # no pause after the last one
    summary = run.summary()
    assert (summary.supplies, summary.completed, summary.failed) == (2, 1, 1)
    assert (summary.kwh, summary.eur) == (Decimal("2.5"), Decimal("0.88"))


def test_a_restarted_run_carries_on_with_the_same_file_only():
    run = FileRun(["A", "B"], 4)
    run.next_cp(0, busy=False)
    assert FileRun(["A", "B"], 4, run.memory()).next_cp(0, busy=False) == "B"
    assert FileRun(["A", "C"], 4, run.memory()).next_cp(0, busy=False) == "A"
