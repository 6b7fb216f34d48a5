import sqlite3

import pytest

from edge.engine.outbox import Outbox, shed_plan

TOPIC = "evcharging/cp/CP1/events"
KIND = {"telemetry": "telemetry", "cp_status": "status"}


def fill(outbox: Outbox, types: str) -> None:
    """One row per letter: t telemetry, s state_changed, b button_pressed, R/E records."""
    names = {"t": "telemetry", "s": "state_changed", "b": "button_pressed",
             "R": "supply_started", "E": "supply_ended"}
    for letter in types:
        name = names[letter]
        outbox.put(TOPIC, letter.encode(), KIND.get(name, "event"), name)


def left(outbox: Outbox) -> str:
    return "".join(row.payload.decode() for row in outbox.pending(1000))


@pytest.mark.parametrize("max_rows, puts, kept, shed", [
    (5, "tttt", "tttt", 0),                  # under the bound: nothing shed
    (3, "ttst", "tst", 1),                   # full: the oldest telemetry goes first
    (3, "sttRt", "sRt", 2),
    (3, "sbRs", "bRs", 1),                   # no telemetry: the oldest state/button event
    (3, "RtEt", "REt", 1),
    (2, "RER", "RER", 0),                    # only records: never shed, grows past the bound
    (3, "RsEbt", "REt", 2),
    (1, "ts", "s", 1),
])
def test_shedding_policy(tmp_path, max_rows, puts, kept, shed):
    outbox = Outbox(tmp_path / "outbox.db", max_rows)
    fill(outbox, puts)
    assert left(outbox) == kept
    assert outbox.counters() == {"rows": len(kept), "shed_total": shed}


@pytest.mark.parametrize("counts, excess, plan", [
    ({"telemetry": 5}, 2, [(("telemetry",), 2)]),
    ({"telemetry": 1, "state_changed": 3}, 3,
     [(("telemetry",), 1), (("cp_status", "state_changed", "button_pressed"), 2)]),
    ({"supply_ended": 9}, 1, []),
    ({"telemetry": 3}, 0, []),
])
def test_shed_plan(counts, excess, plan):
    assert shed_plan(counts, excess) == plan


def test_rows_survive_a_reopen_in_order_and_delete_is_idempotent(tmp_path):
    outbox = Outbox(tmp_path / "outbox.db")
    seqs = [outbox.put(TOPIC, bytes([i]), "event", "state_changed") for i in range(5)]
    assert seqs == sorted(seqs)
    assert outbox.delete(seqs[1]) and not outbox.delete(seqs[1])
    outbox.close()
    again = Outbox(tmp_path / "outbox.db")
    assert [row.seq for row in again.pending(10)] == [seqs[0], *seqs[2:]]
    assert [row.seq for row in again.pending(2, after=seqs[2])] == seqs[3:]
    assert again.rows == 4
    assert again.pending(1)[0].topic == TOPIC


def test_a_put_is_committed_before_it_returns(tmp_path):
    outbox = Outbox(tmp_path / "outbox.db")
    outbox.put(TOPIC, b"x", "event", "supply_started")
    other = sqlite3.connect(tmp_path / "outbox.db")  # what a crash would leave on disk
    assert other.execute("SELECT type FROM outbox").fetchall() == [("supply_started",)]


def test_bad_kind_and_bound_are_refused(tmp_path):
    with pytest.raises(ValueError):
        Outbox(tmp_path / "a.db", 0)
    with pytest.raises(ValueError):
        Outbox(tmp_path / "b.db").put(TOPIC, b"x", "events", "state_changed")
