"""What the terminal shows."""

import io

from driver_app.ui import Screen, cp_table, progress_text, ticket_lines

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


def test_progress_off_a_tty_is_one_line_every_five_seconds():
    out = io.StringIO()
    screen = Screen(out)
    for now in (0, 1, 4.9, 5.0, 6):
        screen.progress("S1", f"at {now}", now)
    assert out.getvalue().splitlines() == ["at 0", "at 5.0"]


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_on_a_tty_is_redrawn_in_place():
    out = Tty()
    screen = Screen(out)
    screen.progress("S1", "one", 0)
    screen.progress("S1", "two", 0.5)
    screen.line("done")
    assert out.getvalue() == "\r\x1b[Kone\r\x1b[Ktwo\ndone\n"


def test_status_of_an_authorization_without_figures():
    from driver_app.ui import status_lines

    current = {"cp_id": "MAD-01", "session_id": "S1", "status": "authorized", "kw": None,
               "kwh": None, "eur": None}
    assert status_lines(current, []) == ["under way (authorized): MAD-01  - kW  - kWh  - EUR"]
