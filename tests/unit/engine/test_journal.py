"""The supply journal on a real SQLite file: crash recovery and unacknowledged records."""

from decimal import Decimal
from itertools import count

import pytest

from edge.engine.journal import RESTARTED, Journal
from protocol.messages import SupplyEnded, SupplyStarted

T0, T1, T2 = "2024-05-01T12:00:00.000Z", "2024-05-01T12:00:05.000Z", "2024-05-01T12:00:09.000Z"


def started(session="S1"):
    return SupplyStarted(cp_id="CP1", session_id=session, started_at=T0,
                         price_eur_kwh="0.30", driver_id="D1")


def ended(session="S1", kwh="0.500", eur="0.15"):
    return SupplyEnded(cp_id="CP1", session_id=session, started_at=T0, ended_at=T2, kwh=kwh,
                       eur=eur, price_eur_kwh="0.30", reason="unplugged", driver_id="D1")


@pytest.fixture
def path(tmp_path):
    return tmp_path / "journal.db"


def ids():
    numbers = count(1)
    return lambda: f"r{next(numbers)}"


def test_open_supply_closed_at_restart_with_last_journaled_energy(path):
    journal = Journal(path)
    journal.open_supply(started())
    journal.progress("S1", Decimal("0.021"), Decimal("0.01"), T1)
    journal.close()  # the engine dies here

    journal = Journal(path)
    [record] = journal.recover(ids())
    assert (record.session_id, record.reason, record.kwh, record.eur, record.ended_at) == (
        "S1", RESTARTED, "0.021", "0.01", T1)
    assert journal.recover(ids()) == []  # closed once, not twice
    resent = journal.unreported()[-1]
    assert (resent.id, resent.reason, resent.kwh) == (record.id, RESTARTED, "0.021")


def test_unacknowledged_records_are_rebuilt_with_their_ids(path):
    journal = Journal(path)
    start, end = started(), ended()
    journal.open_supply(start)
    journal.close_supply(end)
    journal.close()
    journal = Journal(path)
    assert [(r.TYPE, r.id) for r in journal.unreported()] == [
        ("supply_started", start.id), ("supply_ended", end.id)]
    resent_end = journal.unreported()[1]
    assert (resent_end.kwh, resent_end.eur, resent_end.reason) == ("0.500", "0.15", "unplugged")


def test_acknowledged_records_are_not_resent(path):
    journal = Journal(path)
    start, end = started(), ended()
    journal.open_supply(start)
    assert journal.acknowledge(start.id, "S1")
    assert journal.unreported() == []  # open and started acknowledged: nothing to send
    journal.close_supply(end)
    assert [r.id for r in journal.unreported()] == [end.id]
    assert not journal.acknowledge("someone-else", "S1")
    assert journal.acknowledge(end.id, "S1")
    assert journal.unreported() == []


def test_an_end_ack_covers_the_start(path):
    journal = Journal(path)
    start, end = started(), ended()
    journal.open_supply(start)
    journal.close_supply(end)
    journal.acknowledge(end.id, "S1")
    assert journal.unreported() == []


def test_totals_sum_closed_supplies(path):
    journal = Journal(path)
    for session, kwh, eur in (("S1", "0.500", "0.15"), ("S2", "1.234", "0.37")):
        journal.open_supply(started(session))
        journal.close_supply(ended(session, kwh, eur))
    journal.open_supply(started("S3"))
    assert journal.totals() == (Decimal("1.734"), Decimal("0.52"))


def test_stopped_survives_a_restart(path):
    journal = Journal(path)
    assert journal.stopped is False
    journal.stopped = True
    journal.close()
    assert Journal(path).stopped is True
