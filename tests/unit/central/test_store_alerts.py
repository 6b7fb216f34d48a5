"""Weather alerts in SQLite: kept across a reopening of the file, updated in place,
dropped by their location."""

from __future__ import annotations

from cloud.central.alerts import Alert
from cloud.central.store import Store

WALL = "2026-01-02T10:00:00.000Z"


def test_alerts_survive_a_reopening_and_are_dropped_by_location(tmp_path):
    db = str(tmp_path / "central.db")
    store = Store(db)
    store.save_alert(Alert("Madrid", "-3", "0", WALL, WALL, "service@10.0.0.8"))
    store.save_alert(Alert("Oslo", "-1", "0", WALL, WALL, "service@10.0.0.8"))
    store.save_alert(Alert("Madrid", "-5", "0", WALL, WALL, "service@10.0.0.8"))
    store.close()
    again = Store(db)
    assert [(a.location, a.temperature_c) for a in again.alerts()] == [("Madrid", "-5"),
                                                                        ("Oslo", "-1")]
    again.drop_alert("Madrid")
    assert [a.location for a in again.alerts()] == ["Oslo"]
    again.drop_alert("Atlantis")  # none: nothing happens
    assert len(again.alerts()) == 1
