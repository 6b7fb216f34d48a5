"""What Central's answers mean to the office: the link's log lines, the raised alerts."""

from __future__ import annotations

from cloud.weather.central_client import (
    FAILED,
    OK,
    REFUSED,
    UNREACHABLE,
    Answer,
    CentralClient,
    Link,
    raised_locations,
)
from tests.support import free_port


def test_unreachable_is_said_once_and_its_return_once():
    link = Link("10.0.0.5:8000")
    assert link.seen(Answer(OK, 200)) is None
    assert link.seen(Answer(UNREACHABLE)) == "cannot reach Central at 10.0.0.5:8000, retrying"
    assert link.seen(Answer(UNREACHABLE)) is None
    assert link.seen(Answer(UNREACHABLE)) is None
    assert link.seen(Answer(OK, 200)) == "Central at 10.0.0.5:8000 is back"
    assert link.seen(Answer(OK, 201)) is None


def test_a_refused_token_is_one_clear_line():
    link = Link("c:8000")
    line = link.seen(Answer(REFUSED, 401))
    assert "refuses the service token (HTTP 401)" in line and "--token-file" in line
    assert link.seen(Answer(REFUSED, 403)) is None
    assert link.seen(Answer(FAILED, 500)) == "Central at c:8000 is back"  # it answers


def test_raised_locations():
    assert raised_locations(Answer(OK, 200, [{"location": "Oslo", "temperature_c": "-2"},
                                             {"location": 5}, "junk"])) == {"Oslo"}
    assert raised_locations(Answer(OK, 200, [])) == set()
    assert raised_locations(Answer(OK, 200, {"items": []})) is None
    assert raised_locations(Answer(UNREACHABLE)) is None


def test_an_unreachable_central_is_an_answer_not_an_exception():
    client = CentralClient(f"http://127.0.0.1:{free_port()}", "token", timeout=1)
    assert client.alerts().outcome == UNREACHABLE
    assert client.where.startswith("127.0.0.1:")
