"""The network's errors: which part each audit record comes from, what it says, and what
is wrong right now."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from cloud.central import audit
from cloud.central.network_errors import describe, new_weather_problems, ongoing, query


def row(action: str, actor: str = "cp", source: str = "10.0.0.9:5000",
        cp_id: str | None = "CP1", outcome: str = "refused", **params) -> dict:
    return {"id": 7, "ts": "2026-01-02T10:00:00.000Z", "actor": actor, "source": source,
            "action": action, "cp_id": cp_id, "params": params, "outcome": outcome}


@pytest.mark.parametrize(("record", "part", "text"), [
    (row("state change", "service", "central", outcome="ok",
         **{"from": "ACTIVATED", "to": "BROKEN"}),
     "cp", "broken down (was ACTIVATED)"),
    (row("refused input", reason="bad LRC"), "cp", "input refused: bad LRC"),
    (row("refused input", "driver", "kafka driver.requests[0]@3", None, reason="invalid JSON"),
     "driver", "input refused: invalid JSON"),
    (row("refused input", source="bridge evcharging/cp/CP1/events", reason="not sealed"),
     "bridge", "dead-lettered by the bridge: not sealed"),
    (row("key mismatch", reason="key 'k1' is not a key of 'CP1'", plane="data"),
     "keys", "message did not open (data plane): key 'k1' is not a key of 'CP1'"),
    (row("replayed", type="supply_ended", id="m-1"), "keys", "replayed supply_ended m-1 refused"),
    (row("auth failed", reason="wrong secret"), "keys", "login refused: wrong secret"),
    (row("auth failed", "admin", "10.0.0.5", None, reason="admin bearer token missing or wrong",
         call="POST /api/cps/stop"), "api",
     "POST /api/cps/stop refused: admin bearer token missing or wrong"),
    (row("error", "service", "weather office", None, "failed", what="weather: bad API key"),
     "weather", "weather: bad API key"),
    (row("error", "service", "central", None, "failed", what="disk full"), "central", "disk full"),
])
def test_each_error_names_its_part_and_says_what_it_was(record, part, text):
    shown = describe(record)
    assert (shown["part"], shown["text"]) == (part, text)
    assert "10.0.0" not in repr(shown)  # no address on the open API


def test_the_query_holds_refusals_failures_and_breakdowns_only(tmp_path):
    conn = sqlite3.connect(tmp_path / "a.db")
    audit.ensure_table(conn)
    audit.append(conn, audit.Record("auth ok", "cp", "x", "CP1"), "2026-01-01T00:00:00.000Z")
    audit.append(conn, audit.Record("state change", "service", "central", "CP1",
                                    {"from": "ACTIVATED", "to": "SUPPLYING"}))
    audit.append(conn, audit.Record("state change", "service", "central", "CP1",
                                    {"from": "ACTIVATED", "to": "BROKEN"}),
                 "2026-01-01T00:00:01.000Z")
    audit.append(conn, audit.Record("replayed", "cp", "x", "CP2", {"type": "t", "id": "i"},
                                    "refused"), "2026-01-02T00:00:00.000Z")
    rows, total = query(conn)
    assert total == 2 and [r["action"] for r in rows] == ["replayed", "state change"]
    rows, total = query(conn, since="2026-01-02T00:00:00.000Z", limit=1)
    assert total == 1 and rows[0]["cp_id"] == "CP2"
    assert query(conn, limit=1, offset=1)[0][0]["action"] == "state change"


def test_a_weather_problem_is_new_once():
    assert new_weather_problems(None, "ok") == []
    assert new_weather_problems("ok", "provider unreachable since 10:42") == [
        "provider unreachable since 10:42"]
    assert new_weather_problems("provider unreachable since 10:42",
                                "provider unreachable since 10:42; unknown city Atlantis") == [
        "unknown city Atlantis"]
    assert new_weather_problems("bad API key", "ok") == []


NOW = datetime(2026, 1, 2, 10, 5, tzinfo=UTC)


def test_what_is_wrong_now():
    weather = {"status": "bad API key; unknown city Atlantis", "since": "2026-01-02T10:00:00Z",
               "received_at": "2026-01-02T10:04:58Z"}
    kafka = {"up": False, "text": "Kafka unreachable at 127.0.0.1:9092"}
    problems = ongoing(NOW, weather, kafka, [f"CP{n:02}" for n in range(12, 0, -1)])
    assert [(p["part"], p["text"]) for p in problems] == [
        ("weather", "weather: bad API key"), ("weather", "weather: unknown city Atlantis"),
        ("central", "Kafka unreachable at 127.0.0.1:9092"),
        ("cp", "12 CPs broken down: CP01, CP02, CP03, CP04, CP05, CP06, CP07, CP08, CP09, "
               "CP10 and 2 more")]
    assert ongoing(NOW, {"status": "ok", "received_at": "2026-01-02T10:04:58Z"},
                   {"up": True}, []) == []
    assert ongoing(NOW, None, None, ["CP1"])[0]["text"] == "1 CP broken down: CP1"


def test_a_weather_office_gone_quiet_is_a_problem():
    [problem] = ongoing(NOW, {"status": "ok", "received_at": "2026-01-02T10:02:00Z"}, None, [])
    assert problem["text"] == "weather: no report from the weather office for 3 min"
