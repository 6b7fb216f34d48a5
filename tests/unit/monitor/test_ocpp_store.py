"""The OCPP queue and ledger on a real SQLite file, across a reopen (a monitor restart)."""

from __future__ import annotations

import dataclasses

from edge.monitor.ocpp_ledger import Ledger
from edge.monitor.ocpp_store import OcppStore
from protocol import messages as m

CP = "CP01"


def started(session):
    return m.SupplyStarted(cp_id=CP, session_id=session, started_at="2026-03-01T12:00:00Z",
                           price_eur_kwh="0.30", driver_id="DRV1")


def ended(session, kwh):
    return m.SupplyEnded(cp_id=CP, session_id=session, started_at="2026-03-01T12:00:00Z",
                         ended_at="2026-03-01T12:30:00Z", kwh=kwh, eur="0", price_eur_kwh="0",
                         reason="unplugged", driver_id="DRV1")


def queue(store, ledger, record):
    for transaction in ledger.record(record):
        supply = dataclasses.replace(ledger.supplies[transaction.session_id])
        store.enqueue(transaction, supply, ledger.register_wh)


def test_the_queue_keeps_its_order_and_the_ledger_across_a_reopen(tmp_path):
    store, ledger = OcppStore(tmp_path / "ocpp.db"), Ledger()
    queue(store, ledger, started("S1"))
    queue(store, ledger, ended("S1", "1.5"))
    store.close()

    store = OcppStore(tmp_path / "ocpp.db")
    ledger = store.ledger()
    assert ledger.register_wh == 1500 and ledger.supplies["S1"].ended
    head = store.head()
    assert head.action == "StartTransaction" and store.depth() == 2
    store.delivered(head.seq, "S1", 31)
    head = store.head()
    assert head.action == "StopTransaction"
    store.attempted(head.seq)
    store.close()

    store = OcppStore(tmp_path / "ocpp.db")
    ledger = store.ledger()
    head = store.head()
    assert ledger.supplies["S1"].transaction_id == 31 and head.attempts == 1
    assert ledger.outgoing(head).transaction_id == 31 and ledger.outgoing(head).meter_stop == 1500
    store.delivered(head.seq, "S1", None)
    assert store.head() is None and store.depth() == 0
    assert not ledger.record(ended("S1", "1.5"))  # a record sent again is not queued again


def test_configuration_and_a_scheduled_inoperative_are_saved(tmp_path):
    store = OcppStore(tmp_path / "ocpp.db")
    assert not store.inoperative_scheduled()
    store.save_config("HeartbeatInterval", "20")
    store.save_config("HeartbeatInterval", "25")
    store.schedule_inoperative(True)
    store.close()
    store = OcppStore(tmp_path / "ocpp.db")
    assert store.config() == {"HeartbeatInterval": "25"} and store.inoperative_scheduled()
    store.schedule_inoperative(False)
    store.close()
    assert not OcppStore(tmp_path / "ocpp.db").inoperative_scheduled()



def test_supplies_ended_and_delivered_long_ago_are_forgotten_the_rest_kept(tmp_path):
    store, ledger = OcppStore(tmp_path / "ocpp.db"), Ledger()
    for n in range(4):  # S0 to S3: ended, and every message delivered
        queue(store, ledger, started(f"S{n}"))
        queue(store, ledger, ended(f"S{n}", "1.000"))
        while (head := store.head()) is not None:
            store.delivered(head.seq, head.session_id, 40 + n)
    queue(store, ledger, started("S4"))
    queue(store, ledger, ended("S4", "1.000"))  # its messages still queued
    queue(store, ledger, started("S5"))  # under way
    assert store.forget_old_supplies(keep=2) == 3  # S0 to S2; S3 and S4 are the newest two
    assert store.forget_old_supplies(keep=0) == 1  # S3; S4 is still queued
    reopened = OcppStore(tmp_path / "ocpp.db")
    assert set(reopened.ledger().supplies) == {"S4", "S5"}
    assert reopened.ledger().register_wh == 5000 and reopened.depth() == 3
    store.close()
    reopened.close()
