"""The line a person is typing at the prompt, key by key.

Pure: :meth:`LineEditor.feed` takes the text the terminal sent (in cbreak mode: no echo,
no line buffering) and returns the lines finished by Enter, and :data:`EOF` for Ctrl+D on
an empty line; :attr:`LineEditor.text` is what is typed so far, for the screen to echo.
Keys: printable characters, Backspace, Ctrl+U (erase the line), Ctrl+W (erase a word),
Enter (CR, LF or CR LF), Ctrl+D.  Escape sequences (arrows, function keys, Alt+key) and
other control characters are dropped, even when split across reads.
"""

from __future__ import annotations

EOF = None  # in what feed() returns: Ctrl+D on an empty line
MAX_LINE = 200  # characters kept; the rest of a longer line is dropped

ESC, CSI_START, SS3_START = "\x1b", "[", "O"
BACKSPACES = ("\x7f", "\x08")
ERASE_LINE, ERASE_WORD, END_OF_INPUT = "\x15", "\x17", "\x04"


class LineEditor:
    def __init__(self) -> None:
        self.text = ""
        self._escape = ""  # the escape sequence read so far
        self._after_cr = False  # a LF right after a CR is the same Enter

    def feed(self, keys: str) -> list[str | None]:
        """Lines finished by Enter (without it), and EOF for Ctrl+D on an empty line."""
        done: list[str | None] = []
        for key in keys:
            after_cr, self._after_cr = self._after_cr, False
            if self._escape:
                self._escape_key(key)
            elif key == ESC:
                self._escape = ESC
            elif key in "\r\n":
                if key == "\n" and after_cr:
                    continue
                self._after_cr = key == "\r"
                done.append(self.text)
                self.text = ""
            elif key in BACKSPACES:
                self.text = self.text[:-1]
            elif key == ERASE_LINE:
                self.text = ""
            elif key == ERASE_WORD:
                self.text = self.text.rstrip(" ").rpartition(" ")[0]
                self.text += " " if self.text else ""
            elif key == END_OF_INPUT:
                if not self.text:
                    done.append(EOF)
            elif key.isprintable() and len(self.text) < MAX_LINE:
                self.text += key
        return done

    def _escape_key(self, key: str) -> None:
        """One more key of an escape sequence: CSI (ESC [ ... final), SS3 (ESC O x) or
        ESC x; the sequence ends at its final character."""
        sequence = self._escape + key
        if len(sequence) == 2:
            self._escape = sequence if key in (CSI_START, SS3_START) else ""
        elif sequence[1] == SS3_START or "\x40" <= key <= "\x7e":
            self._escape = ""
        else:
            self._escape = sequence[:16]  # parameter bytes; never grows without bound
