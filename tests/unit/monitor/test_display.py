"""The monitor's status line."""

import io

from edge.monitor.display import MonitorStatus
from runtime.terminal import StatusLine


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_redrawn_in_place_on_a_terminal_only_when_it_changes():
    term = Terminal()
    status = MonitorStatus("CP01", StatusLine(term))
    status.update(engine="OK")
    status.update(engine="OK")
    status.update(central="cannot reach Central at 127.0.0.1:7000, retrying")
    frames = term.getvalue().split("\r\x1b[K")[1:]
    assert frames == [
        "CP01  engine OK  |  connecting to Central",
        "CP01  engine OK  |  cannot reach Central at 127.0.0.1:7000, retrying",
    ]


def test_silent_when_not_a_terminal():
    out = io.StringIO()
    status = MonitorStatus("CP01", StatusLine(out))
    status.update(engine="KO", central="connected to Central")
    status.close()
    assert out.getvalue() == ""
    assert status.text() == "CP01  engine KO  |  connected to Central"
