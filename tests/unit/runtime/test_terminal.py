"""The status line and the log lines printed above it."""

import io
import logging
import threading

from runtime.terminal import StatusLine
from tests.support import screen


class Terminal(io.StringIO):
    """stdout and stderr on one screen."""

    def isatty(self) -> bool:
        return True


def logger_to(status: StatusLine, stream) -> logging.Logger:
    log = logging.getLogger(f"test-terminal-{id(status)}")
    log.propagate = False
    handler = status.handler(stream)
    handler.setFormatter(logging.Formatter("LOG %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    return log


def test_a_log_line_clears_the_status_line_and_redraws_it():
    term = Terminal()
    status = StatusLine(term)
    log = logger_to(status, term)
    status.show("CP1 ACTIVATED ... connecting to Central")
    log.info("connected")
    lines, current = screen(term.getvalue())
    assert lines == ["LOG connected"]
    assert current == "CP1 ACTIVATED ... connecting to Central"


def test_no_log_line_is_ever_glued_to_the_status_line_from_many_threads():
    term = Terminal()
    status = StatusLine(term)
    log = logger_to(status, term)

    def redraw(n: int) -> None:
        for i in range(300):
            status.show(f"status {n}.{i}")

    def chatter(n: int) -> None:
        for i in range(300):
            log.info("event %d.%d", n, i)

    threads = [threading.Thread(target=f, args=(n,)) for n in range(3) for f in (redraw, chatter)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines, current = screen(term.getvalue())
    assert len(lines) == 900
    assert all(line.startswith("LOG event ") and "status" not in line for line in lines)
    assert current.startswith("status ")


def test_print_puts_whole_lines_above_the_status_line_and_close_moves_below():
    term = Terminal()
    status = StatusLine(term)
    status.show("waiting")
    status.print("ticket", "total 4.20 EUR")
    status.close()
    assert screen(term.getvalue()) == (["ticket", "total 4.20 EUR", "waiting"], "")


def test_off_a_terminal_nothing_but_the_log_lines():
    out, err = io.StringIO(), io.StringIO()
    status = StatusLine(out)
    log = logger_to(status, err)
    status.show("CP1 ACTIVATED")
    log.info("one")
    status.close()
    assert out.getvalue() == ""
    assert err.getvalue() == "LOG one\n"


def test_a_closed_terminal_is_not_an_error():
    term = Terminal()
    status = StatusLine(term)
    term.close()
    status.show("anything")
    status.print("more")
    assert status.tty is False
