"""The terminal status line."""

import io

from edge.monitor.display import StatusLine


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_redrawn_in_place_on_a_terminal_only_when_it_changes():
    term = Terminal()
    line = StatusLine("CP01", term)
    line.update(engine="OK")
    line.update(engine="OK")
    line.update(central="cannot reach Central at 127.0.0.1:7000, retrying")
    frames = term.getvalue().split("\r\x1b[K")[1:]
    assert frames == [
        "CP01  engine OK  |  connecting to Central",
        "CP01  engine OK  |  cannot reach Central at 127.0.0.1:7000, retrying",
    ]


def test_silent_when_not_a_terminal():
    out = io.StringIO()
    line = StatusLine("CP01", out)
    line.update(engine="KO", central="connected to Central")
    line.close()
    assert out.getvalue() == ""
    assert line.text() == "CP01  engine KO  |  connected to Central"
