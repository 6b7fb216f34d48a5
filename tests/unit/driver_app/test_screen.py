"""The terminal: plain lines and progress, the live region (status line and prompt), a
reader that goes away."""

import io
import logging

import pytest

from driver_app.screen import Screen, ScreenHandler, erase, fit, region

ERASE_1, ERASE_2 = "\r\x1b[J", "\r\x1b[A\x1b[J"


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


# -- pure ---------------------------------------------------------------------------
def test_a_row_never_reaches_the_last_column():
    assert fit("abcdef", 5) == "abcd"
    assert fit("abc", 5) == "abc"


def test_region_is_the_status_line_above_the_prompt_and_the_typing():
    assert region("MAD-01  7.40 kW", "D1> ", "2 MA", 80) == ("MAD-01  7.40 kW\nD1> 2 MA", 2)
    assert region("", "D1> ", "", 80) == ("D1> ", 1)
    assert region("waiting", None, "", 80) == ("waiting", 1)
    assert region("", None, "x", 80) == ("", 0)


def test_long_typing_shows_its_end_on_one_row():
    text, rows = region("", "D1> ", "0123456789", 10)
    assert (text, rows) == ("D1> 56789", 1)


def test_erase_goes_back_to_the_first_row_and_clears_below():
    assert erase(0) == ""
    assert erase(1) == ERASE_1
    assert erase(2) == ERASE_2


# -- live -----------------------------------------------------------------------------
def live() -> tuple[Screen, Tty]:
    out = Tty()
    screen = Screen(out, live=True)
    screen.prompt("D1> ")
    return screen, out


def test_live_only_on_a_terminal():
    assert not Screen(io.StringIO(), live=True).live
    assert Screen(Tty(), live=True).live


def test_output_erases_the_live_region_and_draws_it_again_below():
    screen, out = live()
    screen.typed("2 M")
    screen.progress("S1", "MAD-01  7.40 kW", 1.0)
    out.seek(0)
    out.truncate()
    screen.line("accepted")
    assert out.getvalue() == ERASE_2 + "accepted\n" + "MAD-01  7.40 kW\nD1> 2 M"


def test_the_status_line_is_only_redrawn_when_it_changes():
    screen, out = live()
    screen.status("waiting for Kafka at h:1, 1 s")
    drawn = out.getvalue()
    screen.status("waiting for Kafka at h:1, 1 s")
    assert out.getvalue() == drawn
    screen.status("")
    assert out.getvalue() == drawn + ERASE_2 + "D1> "


def test_an_entered_line_stays_after_its_prompt():
    screen, out = live()
    screen.typed("1")
    out.seek(0)
    out.truncate()
    screen.entered("1")
    assert out.getvalue() == ERASE_1 + "D1> 1\n" + "D1> "


def test_end_erases_the_region():
    screen, out = live()
    screen.status("MAD-01")
    screen.end()
    assert out.getvalue().endswith(ERASE_2)
    screen.line("bye")
    assert out.getvalue().endswith(ERASE_2 + "bye\n")


def test_hide_and_show_around_a_suspension():
    screen, out = live()
    screen.hide()
    assert out.getvalue().endswith("D1> " + ERASE_1)
    screen.show()
    assert out.getvalue().endswith(ERASE_1 + "D1> ")


def test_a_log_line_goes_above_the_live_region():
    screen, out = live()
    screen.status("MAD-01  7.40 kW")
    err = io.StringIO()
    handler = ScreenHandler(screen, err)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    out.seek(0)
    out.truncate()
    handler.emit(logging.LogRecord("x", logging.WARNING, "", 0, "Kafka down", (), None))
    assert err.getvalue() == "WARNING Kafka down\n"
    assert out.getvalue() == ERASE_2 + "MAD-01  7.40 kW\nD1> "


def test_a_log_line_ends_an_open_progress_line_first():
    out = Tty()
    screen = Screen(out)
    screen.progress("S1", "one", 0)
    ScreenHandler(screen, out).emit(
        logging.LogRecord("x", logging.WARNING, "", 0, "Kafka down", (), None))
    assert out.getvalue() == "\r\x1b[Kone\nKafka down\n"


# -- the reader goes away --------------------------------------------------------------
class Gone(Tty):
    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.parametrize("is_live", [False, True])
def test_a_broken_pipe_closes_the_screen_without_an_error(is_live):
    screen = Screen(Gone(), live=is_live)
    screen.line("first")
    assert screen.closed
    screen.lines(["more"])
    screen.progress("S1", "MAD-01", 0)
    screen.status("waiting")
    screen.end()


def test_a_full_disk_closes_the_screen_too_and_says_why():
    class Full(io.StringIO):
        def write(self, text):
            raise OSError(28, "No space left on device")

    screen = Screen(Full())
    screen.line("x")
    assert screen.closed and screen.gone == "cannot write its output: No space left on device"


def test_log_lines_still_reach_stderr_once_stdout_is_gone():
    screen, err = Screen(Gone()), io.StringIO()
    screen.line("first")
    ScreenHandler(screen, err).emit(
        logging.LogRecord("x", logging.WARNING, "", 0, "stopping", (), None))
    assert screen.gone == "its output was closed" and err.getvalue() == "stopping\n"
