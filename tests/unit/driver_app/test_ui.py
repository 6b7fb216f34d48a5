"""What the terminal shows."""

from driver_app.ui import cp_table, progress_text, ticket_lines

TICKET = {"cp_id": "MAD-01", "session_id": "S1", "started_at": "2030-01-01T10:00:00Z",
          "ended_at": "2030-01-01T11:02:03Z", "kwh": "12.3456", "eur": "4.321",
          "price_eur_kwh": "0.35", "reason": "unplugged", "interrupted": False}


def test_progress_line():
    assert progress_text("MAD-01", "7.4", "1.2344", "0.4321") == \
        "MAD-01  7.40 kW  1.234 kWh  0.43 EUR"


def test_ticket_block():
    text = "\n".join(ticket_lines(TICKET))
    for part in ("TICKET  MAD-01", "duration  1:02:03", "12.346 kWh", "0.35 EUR/kWh",
                 "total     4.32 EUR", "reason    unplugged"):
        assert part in text
    assert "INTERRUPTED" not in text


def test_interrupted_ticket_says_so():
    lines = ticket_lines({**TICKET, "interrupted": True, "reason": "engine lost"}, late=True)
    assert "  INTERRUPTED: engine lost" in lines
    assert any("while the app was away" in line for line in lines)


def test_cp_table():
    lines = cp_table([{"id": "MAD-01", "location": "Madrid", "price_eur_kwh": "0.35",
                       "state": "ACTIVATED"}])
    assert "MAD-01" in lines[1] and "0.35" in lines[1] and "ACTIVATED" in lines[1]
    assert cp_table([]) == ["no CP is available"]


def test_status_of_an_authorization_without_figures():
    from driver_app.ui import status_lines

    current = {"cp_id": "MAD-01", "session_id": "S1", "status": "authorized", "kw": None,
               "kwh": None, "eur": None}
    assert status_lines(current, []) == ["under way (authorized): MAD-01  - kW  - kWh  - EUR"]


def test_status_line_follows_the_supply():
    from driver_app.following import Following
    from driver_app.ui import status_line

    assert status_line(None) == ""
    assert status_line(Following("MAD-01", "requested")) == \
        "MAD-01  requested, waiting for Central"
    assert status_line(Following("MAD-01", "accepted")) == "MAD-01  accepted, waiting for the CP"
    assert status_line(Following("MAD-01", "authorized")) == "MAD-01  authorized: plug in"
    assert status_line(Following("MAD-01", "supplying", kw="7.4", kwh="1.2", eur="0.42")) == \
        "MAD-01  7.40 kW  1.200 kWh  0.42 EUR"
