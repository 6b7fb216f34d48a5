"""The line typed at the prompt, key by key."""

import pytest

from driver_app.lineedit import EOF, MAX_LINE, LineEditor


def typed(*chunks: str) -> tuple[list, str]:
    editor = LineEditor()
    done: list = []
    for chunk in chunks:
        done += editor.feed(chunk)
    return done, editor.text


@pytest.mark.parametrize(("chunks", "lines", "left"), [
    (["1\n"], ["1"], ""),
    (["2 MAD", "-01\r"], ["2 MAD-01"], ""),
    (["1\r\n", "4\n"], ["1", "4"], ""),  # CR LF is one Enter
    (["\n\n"], ["", ""], ""),
    (["2 MAX\x7f", "D\x08E"], [], "2 MAE"),  # Backspace, both codes
    (["\x7f\x7f"], [], ""),
    (["2 MAD-01\x15q\n"], ["q"], ""),  # Ctrl+U
    (["2 MAD-01\x17"], [], "2 "),  # Ctrl+W
    (["abc\x17"], [], ""),
    (["1\x1b[A\x1b[1;5C\x1bOP2"], [], "12"),  # arrows, Ctrl+arrow, F1: dropped
    (["1\x1b", "[", "2", "1~2"], [], "12"),  # an escape sequence split across reads
    (["\x1bx3"], [], "3"),  # Alt+x
    (["\t\x01\x07 é"], [], " é"),  # other control characters dropped
])
def test_keys(chunks, lines, left):
    assert typed(*chunks) == (lines, left)


def test_ctrl_d_on_an_empty_line_is_the_end_of_input():
    assert typed("\x04") == ([EOF], "")
    assert typed("ab\x04") == ([], "ab")
    assert typed("1\n\x04") == (["1", EOF], "")


def test_a_line_has_a_limit():
    done, left = typed("x" * (MAX_LINE + 50) + "\n")
    assert done == ["x" * MAX_LINE] and left == ""
